/**
 * Times for people: ages in kubectl's coarse style ("45s", "12m", "3h",
 * "5d"), because a table column wants a short value, not a timestamp.
 */

/** "45s", "12m", "3h", "5d" for an elapsed time in milliseconds. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Age of `then` at `now`, or "-" when the time is unknown. */
export function ageSince(then: Date | undefined, now: Date): string {
  return then === undefined ? '-' : formatAge(now.getTime() - then.getTime());
}

/** "in 5m" for a time after `now`, "2h ago" for one before; for deadlines and delays. */
export function relativeTime(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  return ms > 0 ? `in ${formatAge(ms)}` : `${formatAge(-ms)} ago`;
}

/** "2025-06-01T12:05:00.000Z (in 5m)", "... (2h ago)"; undefined for an unknown time (so a details row is skipped). */
export function formatMoment(at: Date | undefined, now: Date): string | undefined {
  return at === undefined ? undefined : `${at.toISOString()} (${relativeTime(at, now)})`;
}
