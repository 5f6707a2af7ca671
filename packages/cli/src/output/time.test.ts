import { describe, expect, it } from 'vitest';
import { ageSince, formatAge } from './time.js';

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
