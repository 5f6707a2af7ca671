/**
 * Where fetched files may go. Every path an artifact names (its dest_path,
 * the names and link targets of its archive entries) is untrusted. The rules:
 *
 * - A name is relative and has no `..` segment; it never names the agent's
 *   checkpoint file at the sandbox root.
 * - Directories are created one by one with lstat: a path never goes through
 *   a symlink or a non-directory. Hence a name's lexical place is its real
 *   place, and the checks below need no realpath.
 * - A symlink target is relative, has `..` only as its leading segments, and
 *   those do not climb above the extraction directory. Descending by plain
 *   names from a directory inside the sandbox, through links that themselves
 *   obey this rule, cannot leave the sandbox, so every link the fetcher
 *   creates resolves inside it (`a -> .` then `b -> a/a/..` is the trick this
 *   rule refuses: lexically inside, really outside).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CHECKPOINT_FILE } from '../sandbox/sandbox.js';
import { ArtifactProblem } from './fetch-error.js';

/** Why `name` (a sandbox- or archive-relative path) is unsafe, or undefined when it is fine. */
export function unsafeRelativePath(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.includes('\0')) return 'contains a NUL byte';
  if (path.posix.isAbsolute(name)) return 'is absolute';
  const parts = name.split('/');
  if (parts.includes('..')) return "contains '..'";
  if (parts.every((p) => p === '' || p === '.')) return 'names the directory itself';
  return undefined;
}

/** `name` without empty and `.` segments, e.g. "./a//b/" -> "a/b". */
export function cleanRelativePath(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

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

/** Why a symlink at `entry` (relative to the extraction directory) pointing at `target` is unsafe, or undefined. */
export function unsafeSymlinkTarget(entry: string, target: string): string | undefined {
  const show = JSON.stringify(target);
  if (target === '') return 'is a symlink with an empty target';
  if (target.includes('\0')) return 'is a symlink whose target contains a NUL byte';
  if (path.posix.isAbsolute(target)) return `is a symlink to the absolute path ${show}`;
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  let up = 0;
  while (parts[up] === '..') up += 1;
  if (parts.slice(up).includes('..')) return `is a symlink to ${show}, which has '..' after a name`;
  const depth = cleanRelativePath(entry).split('/').length - 1;
  if (up > depth) return `is a symlink to ${show}, outside the directory it is extracted to`;
  return undefined;
}

/**
 * Creates `root/relDir` directory by directory and returns its absolute
 * path. Refuses (ArtifactProblem) to go through a symlink or a file. `known`
 * remembers directories already checked, to spare lstat calls in archives.
 */
export async function makeDirsInside(root: string, relDir: string, known: Set<string> = new Set()): Promise<string> {
  let current = root;
  for (const part of cleanRelativePath(relDir).split('/')) {
    if (part === '') continue;
    if (part === '..') throw new ArtifactProblem('unsafe-path', `${JSON.stringify(relDir)} contains '..'`);
    current = path.join(current, part);
    if (known.has(current)) continue;
    const stat = await fs.lstat(current).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    });
    const shown = JSON.stringify(path.relative(root, current));
    if (stat === undefined) await fs.mkdir(current, { mode: 0o755 });
    else if (stat.isSymbolicLink()) throw new ArtifactProblem('unsafe-path', `${shown} is a symlink; fetched files never go through one`);
    else if (!stat.isDirectory()) throw new ArtifactProblem('io', `${shown} exists and is not a directory`);
    known.add(current);
  }
  return current;
}

/** Removes what is at `file` unless it is a directory (which is refused): the way is clear for a new file or link. */
export async function clearForFile(root: string, file: string): Promise<void> {
  const stat = await fs.lstat(file).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  });
  if (stat === undefined) return;
  if (stat.isDirectory()) {
    throw new ArtifactProblem('io', `${JSON.stringify(path.relative(root, file))} exists and is a directory`);
  }
  await fs.unlink(file);
}
