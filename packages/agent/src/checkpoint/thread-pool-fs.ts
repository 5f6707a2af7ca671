/**
 * Renaming and removing files on the thread pool. They take microseconds on
 * a quiet disk, but ext4 makes them wait for the journal commit that an fsync
 * (the agent's own: journal batches, checkpoints, directories; or any other
 * process's) has under way: profiled in a burst of 200 one-off tasks next to
 * fsync-heavy neighbours, the agent's event loop spent 12 ms per task blocked
 * in renameSync and unlinkSync, longer than all its JavaScript. On the thread
 * pool they wait there, and launches, statuses and acks go on meanwhile. The
 * callback API, not fs.promises: no FileHandle and one promise per call.
 */
import fs from 'node:fs';

/** fs.rename on the thread pool. */
export function renameFile(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => fs.rename(from, to, (e) => (e === null ? resolve() : reject(e))));
}

/** fs.unlink on the thread pool. */
export function unlinkFile(file: string): Promise<void> {
  return new Promise((resolve, reject) => fs.unlink(file, (e) => (e === null ? resolve() : reject(e))));
}
