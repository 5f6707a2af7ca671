import os from 'node:os';
import { RESOURCE_LIMITS } from '@drover/common';
import { describe, expect, it } from 'vitest';
import type { ResourceOverrides } from '../agent-options.js';
import { offeredResources, probeMachine, probeResources } from './resource-probe.js';
import { sampleUsage } from './usage-sampler.js';

describe('resource probe', () => {
  it('finds positive totals on this machine', async () => {
    const probed = await probeMachine(os.tmpdir());
    expect(probed.cpus).toBeGreaterThan(0);
    expect(probed.mem).toBeGreaterThan(0);
    expect(probed.disk).toBeGreaterThan(0);
    expect(Number.isInteger(probed.mem)).toBe(true);
    // MiB, not bytes: no machine running these tests has a petabyte of RAM.
    expect(probed.mem).toBeLessThan(1024 * 1024 * 1024);
  });

  const probed = { cpus: 8, mem: 16000, disk: 500000 };
  it.each<{ name: string; overrides: ResourceOverrides; out: object }>([
    {
      name: 'no overrides',
      overrides: {},
      out: { cpus: 8, mem: 16000, disk: 500000, gpus: 0, ports: [{ begin: 31000, end: 32000 }] },
    },
    {
      name: 'every override',
      overrides: { cpus: 2.5, mem: 1024, disk: 2048, gpus: 1, ports: [{ begin: 5000, end: 5010 }, { begin: 4000, end: 4000 }] },
      out: {
        cpus: 2.5,
        mem: 1024,
        disk: 2048,
        gpus: 1,
        ports: [
          { begin: 4000, end: 4000 },
          { begin: 5000, end: 5010 },
        ],
      },
    },
    { name: 'some overrides', overrides: { mem: 512 }, out: { cpus: 8, mem: 512, disk: 500000 } },
  ])('offers the probed totals with $name', ({ overrides, out }) => {
    expect(offeredResources(probed, overrides)).toMatchObject(out);
  });

  it('caps probed totals at what a master accepts (a FUSE filesystem may report 16 EiB), but not overrides', () => {
    const huge = { cpus: 1e6, mem: 2 ** 40, disk: 2 ** 44 };
    expect(offeredResources(huge)).toMatchObject({ cpus: RESOURCE_LIMITS.cpus, mem: RESOURCE_LIMITS.mem, disk: RESOURCE_LIMITS.disk });
    expect(offeredResources(huge, { disk: 2 ** 44 }).disk).toBe(2 ** 44);
  });

  it('applies overrides over a real probe', async () => {
    const resources = await probeResources(os.tmpdir(), { cpus: 1.5 });
    expect(resources.cpus).toBe(1.5);
    expect(resources.mem).toBeGreaterThan(0);
    expect(resources.ports).toEqual([{ begin: 31000, end: 32000 }]);
  });

  it('samples usage in MiB', async () => {
    const usage = await sampleUsage(4);
    expect(usage.tasksRunning).toBe(4);
    expect(usage.memTotal).toBeGreaterThan(0);
    expect(usage.memUsed).toBeGreaterThan(0);
    expect(usage.memUsed).toBeLessThanOrEqual(usage.memTotal);
    expect(usage.cpusUsed).toBeGreaterThanOrEqual(0);
  });
});
