/** Where in its sandbox an artifact is written, by the rules of sandbox/sandbox-paths.ts. */
import { CHECKPOINT_FILE } from '../sandbox/sandbox.js';
import { cleanRelativePath, unsafeRelativePath } from '../sandbox/sandbox-paths.js';
import { ArtifactProblem } from './fetch-error.js';

/**
 * The sandbox-relative path a FetchUri is written to: dest_path, else the
 * URI's last path segment (percent-decoded). Throws ArtifactProblem.
 */
export function destinationOf(url: URL, destPath: string): string {
  let name = destPath;
  if (name === '') {
    const last = url.pathname.split('/').at(-1) ?? '';
    try {
      name = decodeURIComponent(last);
    } catch {
      name = last;
    }
    if (name === '') throw new ArtifactProblem('invalid', 'the URI has no file name: set dest_path');
    // A decoded name may hold "/" (%2F): it must stay one file name.
    if (name.includes('/') || name === '.' || name === '..') {
      throw new ArtifactProblem('unsafe-path', `the URI's file name ${JSON.stringify(name)} is not a safe file name: set dest_path`);
    }
  }
  const why = unsafeRelativePath(name);
  if (why !== undefined) {
    throw new ArtifactProblem('unsafe-path', `dest_path ${JSON.stringify(name)} ${why}; it must be a path inside the sandbox`);
  }
  const clean = cleanRelativePath(name);
  if (clean === CHECKPOINT_FILE) {
    throw new ArtifactProblem('unsafe-path', `dest_path ${JSON.stringify(name)} is the agent's checkpoint file`);
  }
  return clean;
}

