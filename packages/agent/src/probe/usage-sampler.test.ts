import { silentLogger } from '@drover/common';
import type { ResourceUsage } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageSampler } from './usage-sampler.js';

let sampler: UsageSampler | undefined;
afterEach(() => sampler?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('usage sampler', () => {
  it('samples at once when asked, one sample for many asks, and says which offered ports are in use', async () => {
    const reports: ResourceUsage[] = [];
    let reads = 0;
    sampler = new UsageSampler({
      intervalMs: 60_000,
      tasksRunning: () => 3,
      portsInUse: async () => {
        reads++;
        return [{ begin: 31005, end: 31005 }];
      },
      report: (u) => reports.push(u),
      logger: silentLogger(),
    });
    sampler.start();
    // A whole app killed at once: its tasks end together.
    for (let i = 0; i < 50; i++) sampler.sampleSoon();
    for (let waited = 0; reports.length === 0 && waited < 5000; waited += 20) await sleep(20);
    await sleep(300);
    expect(reads).toBe(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ tasksRunning: 3, portsInUse: [{ begin: 31005, end: 31005 }] });
  });

  it('reports nothing when the ports cannot be read, rather than no ports in use', async () => {
    const reports: ResourceUsage[] = [];
    let reads = 0;
    sampler = new UsageSampler({
      intervalMs: 60_000,
      tasksRunning: () => 0,
      portsInUse: async () => {
        reads++;
        throw new Error('EACCES: /proc/net/tcp');
      },
      report: (u) => reports.push(u),
      logger: silentLogger(),
    });
    sampler.sampleSoon();
    for (let waited = 0; reads === 0 && waited < 5000; waited += 20) await sleep(20);
    await sleep(100);
    expect(reads).toBe(1);
    expect(reports).toEqual([]);
  });
});
