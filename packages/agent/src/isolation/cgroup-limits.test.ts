import { describe, expect, it } from 'vitest';
import { limitWrites } from './cgroup-limits.js';

const noSwap = { swapAccounting: false };
const swap = { swapAccounting: true };

describe('cgroup limit writes', () => {
  it.each([
    {
      name: 'v1, swap accounted: memsw after the memory limit',
      version: 1 as const,
      limits: { cpus: 0.2, memMiB: 64, pids: 4096 },
      features: swap,
      out: [
        ['memory.limit_in_bytes', '67108864'],
        ['memory.memsw.limit_in_bytes', '67108864'],
        ['cpu.cfs_period_us', '100000'],
        ['cpu.cfs_quota_us', '20000'],
        ['cpu.shares', '205'],
        ['pids.max', '4096'],
      ],
    },
    {
      name: 'v1 without swap accounting: swappiness 0 instead',
      version: 1 as const,
      limits: { cpus: 2, memMiB: 1024, pids: 100 },
      features: noSwap,
      out: [
        ['memory.limit_in_bytes', '1073741824'],
        ['memory.swappiness', '0'],
        ['cpu.cfs_period_us', '100000'],
        ['cpu.cfs_quota_us', '200000'],
        ['cpu.shares', '2048'],
        ['pids.max', '100'],
      ],
    },
    {
      name: 'v2, swap accounted',
      version: 2 as const,
      limits: { cpus: 0.5, memMiB: 64, pids: 4096 },
      features: swap,
      out: [
        ['memory.max', '67108864'],
        ['memory.swap.max', '0'],
        ['memory.oom.group', '1'],
        ['cpu.max', '50000 100000'],
        ['cpu.weight', '50'],
        ['pids.max', '4096'],
      ],
    },
    {
      name: 'v2, tiny and huge CPU shares are clamped to what the kernel takes',
      version: 2 as const,
      limits: { cpus: 0.001, memMiB: 0, pids: 0 },
      features: noSwap,
      out: [
        ['cpu.max', '1000 100000'],
        ['cpu.weight', '1'],
      ],
    },
    {
      name: 'v2, 200 cores: weight capped at 10000',
      version: 2 as const,
      limits: { cpus: 200, memMiB: 0, pids: 0 },
      features: noSwap,
      out: [
        ['cpu.max', '20000000 100000'],
        ['cpu.weight', '10000'],
      ],
    },
    {
      name: 'no resources: nothing limited',
      version: 1 as const,
      limits: { cpus: 0, memMiB: 0, pids: 0 },
      features: swap,
      out: [],
    },
  ])('$name', ({ version, limits, features, out }) => {
    expect(limitWrites(version, limits, features).map((w) => [w.file, w.value])).toEqual(out);
  });

  it('names the controller of every file', () => {
    for (const version of [1, 2] as const) {
      for (const w of limitWrites(version, { cpus: 1, memMiB: 1, pids: 1 }, swap)) {
        expect(w.file.startsWith(`${w.controller}.`)).toBe(true);
      }
    }
  });
});
