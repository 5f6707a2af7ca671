/**
 * How loudly an agent reports that it cannot reach its master. A master
 * restarting or failing over costs a few failed attempts, which is normal
 * (info). An agent pointed at a wrong address or port fails forever, and
 * used to say so at info on every attempt, so nobody noticed and the log
 * grew without bound. Now the WARN_AFTER-th failure in a row is a warning
 * naming the address and the error, later ones warn again only each time
 * the count doubles (6, 12, 24, ...), and the rest are debug.
 */

/** Consecutive failed attempts before the agent warns that it cannot reach its master. */
export const WARN_AFTER = 3;

/** The level to log the `failures`-th failed attempt in a row at (1-based). */
export function failureLogLevel(failures: number): 'info' | 'warn' | 'debug' {
  if (failures < WARN_AFTER) return 'info';
  const ratio = failures / WARN_AFTER;
  return Number.isInteger(ratio) && (ratio & (ratio - 1)) === 0 ? 'warn' : 'debug';
}
