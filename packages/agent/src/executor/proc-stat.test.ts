import { describe, expect, it } from 'vitest';
import { isProcessAlive, parseProcStat, readProcStat } from './proc-stat.js';

describe('proc stat', () => {
  it.each([
    {
      name: 'a plain command',
      text: '5834 (node) S 5831 5831 4421 0 -1 4194304 5200 1375 0 2 12 1 1 0 20 0 11 0 82779 1054556160 13322',
      out: { state: 'S', pgrp: 5831, startTime: 82779 },
    },
    {
      name: 'a command name with spaces and parentheses',
      text: '77 (we(i)rd name) Z 1 70 70 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0',
      out: { state: 'Z', pgrp: 70, startTime: 123456 },
    },
    { name: 'garbage', text: 'not a stat line', out: undefined },
    { name: 'truncated', text: '1 (init) S 0 1', out: undefined },
  ])('parses $name', ({ text, out }) => {
    expect(parseProcStat(text)).toEqual(out);
  });

  it('reads this process and tells it apart from a pid reuse', async () => {
    const stat = await readProcStat(process.pid);
    expect(stat?.startTime).toBeGreaterThan(0);
    expect(await isProcessAlive(process.pid, stat?.startTime)).toBe(true);
    expect(await isProcessAlive(process.pid, (stat?.startTime ?? 0) + 1)).toBe(false);
    expect(await isProcessAlive(2 ** 22 + 1, undefined)).toBe(false);
  });
});
