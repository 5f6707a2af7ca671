import { describe, expect, it } from 'vitest';
import { MAX_TIMER_DELAY_MS, timerDelay } from './timer-delay.js';

describe('timerDelay', () => {
  it.each([
    { name: 'a normal delay is kept', ms: 1500, expected: 1500 },
    { name: 'zero stays zero', ms: 0, expected: 0 },
    { name: 'a negative delay is now', ms: -5, expected: 0 },
    { name: 'the largest delay Node keeps', ms: MAX_TIMER_DELAY_MS, expected: MAX_TIMER_DELAY_MS },
    { name: 'one more is clamped', ms: MAX_TIMER_DELAY_MS + 1, expected: MAX_TIMER_DELAY_MS },
    { name: 'a huge backoff (3,000,000 s)', ms: 3_000_000_000, expected: MAX_TIMER_DELAY_MS },
    { name: 'Infinity', ms: Number.POSITIVE_INFINITY, expected: MAX_TIMER_DELAY_MS },
    { name: '-Infinity', ms: Number.NEGATIVE_INFINITY, expected: 0 },
    { name: 'NaN never becomes a busy loop', ms: Number.NaN, expected: MAX_TIMER_DELAY_MS },
  ])('$name', ({ ms, expected }) => {
    expect(timerDelay(ms)).toBe(expected);
  });

  it('a clamped delay arms a timer without a TimeoutOverflowWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const timer = setTimeout(() => undefined, timerDelay(3_000_000_000));
      clearTimeout(timer);
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).toEqual([]);
  });
});
