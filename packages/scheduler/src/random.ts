/**
 * A small seeded PRNG (mulberry32). The scheduler takes its randomness from
 * here so a test that fixes the seed gets the same plan every run.
 */

/** Returns numbers in [0, 1), determined by the seed. */
export type Random = () => number;

/** A PRNG seeded with a 32-bit integer. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
