import type { ScalarResources } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { agent, request } from '../testing/builders.js';
import { workingAgent } from '../working-agent.js';
import { scorePlugin } from './registry.js';

describe('binpack and spread scores', () => {
  // A 4 cpu / 4096 MiB agent; the request takes 1 cpu, 1024 MiB.
  it.each<{ name: string; used: Partial<ScalarResources>; binpack: number; spread: number }>([
    { name: 'empty agent', used: {}, binpack: 25, spread: 75 },
    { name: 'half used on cpus', used: { cpus: 2 }, binpack: 75, spread: 25 },
    { name: 'mem dominates', used: { cpus: 1, mem: 3072 }, binpack: 100, spread: 0 },
  ])('$name', ({ used, binpack, spread }) => {
    const a = workingAgent(agent('a', { total: { cpus: 4, mem: 4096 }, used }));
    const req = request('/web', 1, { resources: { cpus: 1, mem: 1024 } });
    expect(scorePlugin('binpack').score(req, a)).toBeCloseTo(binpack);
    expect(scorePlugin('spread').score(req, a)).toBeCloseTo(spread);
  });
});
