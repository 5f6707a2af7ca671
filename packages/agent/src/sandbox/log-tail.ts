/**
 * The end of a task's log file. A failed task's last words (usually the
 * error) travel with its final status to the master, which keeps them after
 * the sandbox is gone.
 */
import fs from 'node:fs';

/** How much of stderr rides along with a terminal status. */
export const STDERR_TAIL_BYTES = 4096;

/**
 * The last `bytes` bytes of the file; empty if it does not exist.
 *
 * Synchronous: a few KiB of a file the task has just written come from the
 * page cache in microseconds, and every task's end reads one. Through a
 * FileHandle it took four thread-pool hops and about a millisecond of the
 * agent's time per task in a burst of one-off tasks.
 */
export async function readTail(file: string, bytes = STDERR_TAIL_BYTES): Promise<Buffer> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const { size } = fs.fstatSync(fd);
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = fs.readSync(fd, buffer, read, length - read, size - length + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
