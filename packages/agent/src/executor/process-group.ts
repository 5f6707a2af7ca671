/**
 * Signalling a task's process group. Tasks run as leaders of their own
 * session and group (pgid = leader pid), so one kill(-pgid) reaches every
 * process the task forked, however deep.
 *
 * Killing by group id after the leader has exited is safe from pid reuse:
 * Linux does not hand out a number while it is still some process's group
 * id. So either the group still has members (the number is still ours) or,
 * if /proc shows a *different* process under that number, the group is empty
 * and must not be signalled.
 */
import { readProcStat } from './proc-stat.js';

/** Sends `signal` to every process of group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/**
 * SIGKILLs whatever is left of a task's group once its leader has exited.
 * `startTime` is the leader's; when another process (or one we cannot tell
 * from another) now owns the pid, the group is known to be empty and nothing
 * is sent.
 */
export async function killGroupLeftovers(pgid: number, startTime: number | undefined): Promise<void> {
  const stat = await readProcStat(pgid);
  if (stat !== undefined && (startTime === undefined || stat.startTime !== startTime)) return;
  signalGroup(pgid, 'SIGKILL');
}
