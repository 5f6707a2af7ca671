/**
 * The boot id the agent sends in Register: the master tells a healed
 * partition (same boot id: the agent was only out of touch, its tasks may
 * still run) from a machine that restarted (another boot id: its tasks are
 * gone, whatever the checkpoints say, and a checkpointed pid may now be
 * another process's).
 *
 * Linux gives every boot a random id in /proc/sys/kernel/random/boot_id.
 * Only where that file is missing (not Linux, a /proc without it) does the
 * agent make a random id and keep it in its work dir, which survives a
 * reboot: such an agent's restarted machine looks like a healed partition,
 * and the master relies on the agent's own recovery (which finds the dead
 * pids) instead.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isErrno, loadJsonFile, writeJsonAtomic } from './atomic-file.js';

/** Where Linux says which boot this is. */
export const LINUX_BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/** The boot id: the kernel's, else the one kept in `fallbackFile` (made on first use). */
export async function readBootId(kernelFile: string, fallbackFile: string): Promise<string> {
  try {
    const id = (await fs.readFile(kernelFile, 'utf8')).trim();
    if (id !== '') return id;
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  const kept = await loadJsonFile(fallbackFile, (v): v is { bootId: string } => typeof (v as { bootId?: unknown }).bootId === 'string');
  if (kept !== undefined && kept.bootId !== '') return kept.bootId;
  const made = { bootId: randomUUID() };
  await writeJsonAtomic(fallbackFile, made);
  return made.bootId;
}
