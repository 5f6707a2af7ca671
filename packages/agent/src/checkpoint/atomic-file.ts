/**
 * Durable small files. The agent's state files (agent id, epoch, task
 * checkpoints) are written to a temporary file in the same directory,
 * fsynced, renamed over their target, and then the directory is fsynced. A
 * crash or power loss leaves either the old content or the new one, never a
 * torn file, and a write that returned is on disk. (Pending status updates
 * have a journal of their own: status/status-journal.ts.)
 *
 * Only the fsyncs run on the thread pool. Creating, writing (into the page
 * cache), renaming and removing these small files takes microseconds and is
 * done synchronously: through fs.promises each call cost the agent some
 * 100 µs of CPU (a FileHandle, a promise, a thread pool hop), and a task's
 * state files took about forty calls. The waiting part, the fsync, stays off
 * the event loop (syncFd, group-sync.ts).
 */
import { randomBytes } from 'node:crypto';
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code, DroverError } from '@drover/common';
import { syncDir, syncFd } from './group-sync.js';

/** A state file exists but cannot be parsed. */
export class CorruptStateFileError extends DroverError {
  override name = 'CorruptStateFileError';
  constructor(
    /** The unreadable file. */
    readonly file: string,
    cause: unknown,
  ) {
    super(`cannot parse ${file}`, Code.DataLoss, { cause });
  }
}

/**
 * Writes `data` to `file` atomically and durably (write, fsync, rename, fsync
 * dir). With `durable: false` only atomically: for content that something
 * else already keeps durably until this file is no longer needed.
 */
export async function writeFileAtomic(file: string, data: string, options: { durable?: boolean } = {}): Promise<void> {
  const durable = options.durable ?? true;
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fsSync.openSync(tmp, 'w', 0o600);
  try {
    fsSync.writeFileSync(fd, data, 'utf8');
    if (durable) await syncFd(fd);
  } finally {
    fsSync.closeSync(fd);
  }
  try {
    fsSync.renameSync(tmp, file);
  } catch (e) {
    fsSync.rmSync(tmp, { force: true });
    throw e;
  }
  if (durable) await syncDir(dir);
}

/** Writes `value` as JSON to `file` atomically and (unless `durable: false`) durably. */
export async function writeJsonAtomic(file: string, value: unknown, options: { durable?: boolean } = {}): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Reads a JSON file; undefined when it does not exist, CorruptStateFileError when it cannot be parsed. */
export async function readJsonIfExists(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CorruptStateFileError(file, e);
  }
}

/** Reads a JSON state file and checks its shape; undefined when missing, CorruptStateFileError when malformed. */
export async function loadJsonFile<T>(file: string, isValid: (value: unknown) => value is T): Promise<T | undefined> {
  const value = await readJsonIfExists(file);
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || !isValid(value)) {
    throw new CorruptStateFileError(file, new TypeError('unexpected content'));
  }
  return value;
}

/** Removes a file (durably); a missing file is not an error. */
export async function removeFileDurably(file: string): Promise<void> {
  try {
    fsSync.unlinkSync(file);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  await syncDir(path.dirname(file));
}

/** True when `e` is a Node system error with this errno code (codes, never message text). */
export function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code;
}

