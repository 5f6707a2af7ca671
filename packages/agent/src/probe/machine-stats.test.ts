import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { CpuLoad, cpuCores, memoryStats } from './machine-stats.js';

describe('machine stats', () => {
  it('counts the cores the kernel lists', () => {
    expect(cpuCores()).toBe(os.cpus().length);
  });

  it('reads memory as /proc/meminfo has it: active is below total', async () => {
    const mem = await memoryStats();
    expect(mem.total).toBe(os.totalmem());
    expect(mem.active).toBeGreaterThan(0);
    expect(mem.active).toBeLessThan(mem.total);
  });

  it('sees a busy loop in the CPU load since the last sample', () => {
    const load = new CpuLoad();
    load.sample();
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // Busy: one core fully used for 300 ms.
    }
    const busy = load.sample();
    // At least most of the one core this loop kept busy (other processes only add), at most every core.
    expect(busy).toBeGreaterThan(0.5);
    expect(busy).toBeLessThanOrEqual(cpuCores());
  });
});
