import { parsePortRanges, scalars } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { schedule } from './schedule.js';
import type { AgentSnapshot, PlacementRequest } from './types.js';

function agent(id: string, total: { cpus: number; mem: number }, used = { cpus: 0, mem: 0 }, ports = '31000-31009'): AgentSnapshot {
  return {
    id,
    hostname: `${id}.example`,
    attributes: {},
    total: scalars(total),
    free: scalars({ cpus: total.cpus - used.cpus, mem: total.mem - used.mem }),
    freePorts: parsePortRanges(ports),
  };
}

function requests(appId: string, n: number, cpus: number, mem: number, ports: number[] = []): PlacementRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${appId}#${i}`,
    appId,
    resources: scalars({ cpus, mem }),
    ports: ports.map((port) => ({ port })),
  }));
}

describe('schedule', () => {
  it('places every instance that fits and accounts for its own placements', () => {
    const plan = schedule({ agents: [agent('a', { cpus: 2, mem: 1024 })] }, requests('/web', 3, 1, 100));
    expect(plan.placements.map((p) => p.agentId)).toEqual(['a', 'a']);
    expect(plan.unplaced).toHaveLength(1);
    expect(plan.unplaced[0]?.explanation.summary).toBe('1 agent: insufficient cpus (need 1 cpus, most free 0 cpus)');
  });

  it('bin-packs: fills the busiest agent that fits', () => {
    const plan = schedule(
      { agents: [agent('empty', { cpus: 4, mem: 4096 }), agent('busy', { cpus: 4, mem: 4096 }, { cpus: 3, mem: 0 })] },
      requests('/web', 2, 0.5, 64),
    );
    expect(plan.placements.map((p) => p.agentId)).toEqual(['busy', 'busy']);
  });

  it('explains per reason how many agents were ruled out, with the most free amount', () => {
    const plan = schedule(
      {
        agents: [
          agent('a', { cpus: 4, mem: 256 }),
          agent('b', { cpus: 4, mem: 512 }, { cpus: 0, mem: 256 }),
          agent('c', { cpus: 4, mem: 300 }),
          agent('d', { cpus: 0.5, mem: 4096 }),
          agent('e', { cpus: 4, mem: 4096 }, undefined, '8080'),
        ],
      },
      requests('/big', 1, 1, 512, [8080, 0]),
    );
    expect(plan.placements).toEqual([]);
    const e = plan.unplaced[0]?.explanation;
    expect(e?.agentsConsidered).toBe(5);
    expect(e?.rejections).toEqual([
      { reason: 'insufficient mem', agents: 3, detail: 'need 512 MiB, most free 300 MiB' },
      { reason: 'insufficient cpus', agents: 1, detail: 'need 1 cpus, most free 0.5 cpus' },
      { reason: 'insufficient ports', agents: 1, detail: 'need 1 ports, most free 0 ports' },
    ]);
    expect(e?.summary).toBe(
      '3 agents: insufficient mem (need 512 MiB, most free 300 MiB); 1 agent: insufficient cpus (need 1 cpus, most free 0.5 cpus); 1 agent: insufficient ports (need 1 ports, most free 0 ports)',
    );
  });

  it('assigns distinct host ports across instances on one agent', () => {
    const plan = schedule({ agents: [agent('a', { cpus: 8, mem: 8192 }, undefined, '31000-31003')] }, requests('/web', 3, 0.1, 10, [0]));
    expect(plan.placements).toHaveLength(3);
    const ports = plan.placements.flatMap((p) => p.hostPorts);
    expect(new Set(ports).size).toBe(3);
    // A fixed port can only be held once per agent.
    const fixed = schedule({ agents: [agent('a', { cpus: 8, mem: 8192 })] }, requests('/fixed', 2, 0.1, 10, [31005]));
    expect(fixed.placements).toHaveLength(1);
    expect(fixed.unplaced[0]?.explanation.summary).toBe('1 agent: port 31005 unavailable');
  });

  it('says so when there are no agents', () => {
    const plan = schedule({ agents: [] }, requests('/web', 1, 1, 1));
    expect(plan.unplaced[0]?.explanation.summary).toBe('no agents are available');
  });

  it('is deterministic under a seed', () => {
    const snapshot = { agents: [agent('a', { cpus: 8, mem: 8192 }, undefined, '31000-32000'), agent('b', { cpus: 8, mem: 8192 })] };
    const reqs = requests('/web', 6, 0.5, 100, [0, 0]);
    expect(schedule(snapshot, reqs, { seed: 42 })).toEqual(schedule(snapshot, reqs, { seed: 42 }));
  });

  it('fails loudly on an unknown plugin name', () => {
    expect(() => schedule({ agents: [] }, [], { filters: ['nope'] })).toThrow(/unknown filter plugin "nope"/);
  });
});
