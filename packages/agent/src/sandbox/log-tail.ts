/**
 * The end of a task's log file. A failed task's last words (usually the
 * error) travel with its final status to the master, which keeps them after
 * the sandbox is gone.
 */
import { promises as fs } from 'node:fs';

/** How much of stderr rides along with a terminal status. */
export const STDERR_TAIL_BYTES = 4096;

/** The last `bytes` bytes of the file; empty if it does not exist. */
export async function readTail(file: string, bytes = STDERR_TAIL_BYTES): Promise<Buffer> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  } finally {
    await handle?.close();
  }
}
