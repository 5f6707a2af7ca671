import { describe, expect, it } from 'vitest';
import { ageSince, formatAge, formatMoment, relativeTime } from './time.js';

describe('formatAge', () => {
  it.each([
    { name: 'in the future (clock skew)', ms: -5_000, want: '0s' },
    { name: 'seconds', ms: 45_000, want: '45s' },
    { name: 'up to two minutes in seconds', ms: 119_999, want: '119s' },
    { name: 'minutes', ms: 12 * 60_000, want: '12m' },
    { name: 'hours', ms: 3 * 3_600_000 + 59 * 60_000, want: '3h' },
    { name: 'days', ms: 5 * 86_400_000, want: '5d' },
  ])('$name: $want', ({ ms, want }) => {
    expect(formatAge(ms)).toBe(want);
  });

  it('says "-" for an unknown time', () => {
    expect(ageSince(undefined, new Date())).toBe('-');
  });
});

describe('relativeTime', () => {
  const now = new Date('2025-06-01T12:00:00.000Z');
  it.each([
    { name: 'a deadline ahead', at: '2025-06-01T12:05:00.000Z', want: 'in 5m' },
    { name: 'a time passed', at: '2025-06-01T10:00:00.000Z', want: '2h ago' },
    { name: 'now', at: '2025-06-01T12:00:00.000Z', want: '0s ago' },
  ])('$name: $want', ({ at, want }) => {
    expect(relativeTime(new Date(at), now)).toBe(want);
  });

  it('formatMoment puts the ISO time first and skips an unknown time', () => {
    expect(formatMoment(new Date('2025-06-01T12:00:30.000Z'), now)).toBe('2025-06-01T12:00:30.000Z (in 30s)');
    expect(formatMoment(undefined, now)).toBeUndefined();
  });
});
