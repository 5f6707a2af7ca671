import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('backoff', () => {
  it.each([
    { name: 'no jitter at the midpoint', random: 0.5, out: [100, 200, 400, 800, 1000, 1000] },
    { name: 'lowest jitter', random: 0, out: [75, 150, 300, 600, 750, 750] },
    { name: 'highest jitter never passes the cap', random: 0.999, out: [125, 250, 500, 1000, 1000, 1000] },
  ])('doubles up to the cap: $name', ({ random, out }) => {
    const backoff = new Backoff(100, 1000, () => random);
    expect(out.map(() => backoff.next())).toEqual(out);
  });

  it('starts over after reset', () => {
    const backoff = new Backoff(100, 1000, () => 0.5);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});
