/**
 * Delays handed to setTimeout and setInterval. Node keeps a timer's delay in
 * a signed 32-bit millisecond count: anything above 2^31-1 ms (24.8 days)
 * is replaced by 1 ms, with a TimeoutOverflowWarning on stderr every time.
 * A duration that came from a user or an agent (a backoff, a health check
 * interval, a grace period) must pass through timerDelay before it meets a
 * timer, or a value meant as "almost never" becomes "every millisecond".
 */

/** The longest delay a Node timer keeps: 2^31-1 ms, about 24.8 days. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * `ms` clamped to [0, MAX_TIMER_DELAY_MS]. NaN and +Infinity become the
 * maximum: a garbage duration must never turn into a busy loop.
 */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_DELAY_MS;
  return Math.min(MAX_TIMER_DELAY_MS, Math.max(0, ms));
}
