import { describe, expect, it } from 'vitest';
import { add, dominantShare, fits, fixed, formatScalars, scalars, shortfalls, subtract, sum, ZERO } from './scalar-resources.js';

describe('scalar resources', () => {
  it('adds and subtracts on a fixed-point grid, so repeated 0.1s do not drift', () => {
    let used = ZERO;
    for (let i = 0; i < 1000; i++) used = add(used, scalars({ cpus: 0.1, mem: 0.3 }));
    expect(used.cpus).toBe(100);
    expect(used.mem).toBe(300);
    for (let i = 0; i < 1000; i++) used = subtract(used, scalars({ cpus: 0.1, mem: 0.3 }));
    expect(used).toEqual(ZERO);
  });

  it.each([
    { name: 'exact fit', need: { cpus: 1, mem: 512 }, free: { cpus: 1, mem: 512 }, fits: true, short: [] },
    { name: 'more cpus than free', need: { cpus: 1.5 }, free: { cpus: 1, mem: 64 }, fits: false, short: ['cpus'] },
    { name: 'mem and disk short', need: { mem: 2, disk: 2 }, free: { cpus: 4, mem: 1, disk: 1 }, fits: false, short: ['mem', 'disk'] },
    { name: 'gpu asked, none offered', need: { gpus: 1 }, free: { cpus: 8, mem: 8 }, fits: false, short: ['gpus'] },
    { name: 'float noise is not a shortfall', need: { cpus: 0.1 + 0.2 }, free: { cpus: 0.3 }, fits: true, short: [] },
  ])('fits: $name', ({ need, free, fits: expected, short }) => {
    expect(fits(scalars(need), scalars(free))).toBe(expected);
    expect(shortfalls(scalars(need), scalars(free))).toEqual(short);
  });

  it('makes -0 plain 0 (protobuf drops the sign, so a listed agent would differ from the recorded one)', () => {
    expect(Object.is(fixed(-0), 0)).toBe(true);
    expect(Object.is(scalars({ cpus: -0 }).cpus, 0)).toBe(true);
    expect(Object.is(fixed(-0.0001), 0)).toBe(true);
  });

  it('sums and measures the dominant share', () => {
    const total = scalars({ cpus: 4, mem: 1000 });
    const used = sum([scalars({ cpus: 1, mem: 100 }), scalars({ cpus: 1, mem: 100 })]);
    expect(used).toEqual(scalars({ cpus: 2, mem: 200 }));
    expect(dominantShare(used, total)).toBe(0.5);
    expect(dominantShare(used, ZERO)).toBe(0);
  });

  it('formats for people', () => {
    expect(formatScalars(scalars({ cpus: 0.5, mem: 64 }))).toBe('0.5 cpus, 64 MiB mem, 0 MiB disk');
    expect(formatScalars(scalars({ gpus: 1 }))).toContain('1 gpus');
  });
});
