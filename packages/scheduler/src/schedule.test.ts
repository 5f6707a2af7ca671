import { describe, expect, it } from 'vitest';
import { schedule } from './schedule.js';
import { agent, constraint, request, snapshot } from './testing/builders.js';
import { planViolations } from './testing/plan-invariants.js';
import type { AgentSnapshot, Plan, PlacementRequest, Snapshot } from './types.js';

/** Agent ids of a plan's placements, in order. */
const onto = (plan: Plan) => plan.placements.map((p) => p.agentId);

/** Placements per agent id. */
function perAgent(plan: Plan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of plan.placements) out[p.agentId] = (out[p.agentId] ?? 0) + 1;
  return out;
}

/** Schedules and checks the plan's invariants on the way. */
function run(snap: Snapshot, requests: PlacementRequest[], options?: Parameters<typeof schedule>[2]): Plan {
  const plan = schedule(snap, requests, options);
  expect(planViolations(snap, requests, plan)).toEqual([]);
  return plan;
}

/** `n` agents `prefix0..`, with attributes from `attrs(i)`. */
function fleet(n: number, attrs: (i: number) => Record<string, string> = () => ({}), total = { cpus: 8, mem: 8192 }): AgentSnapshot[] {
  return Array.from({ length: n }, (_, i) => agent(`a${i}`, { attributes: attrs(i), total }));
}

describe('schedule: resources and ports', () => {
  it('places every instance that fits and accounts for its own placements', () => {
    const plan = run(snapshot([agent('a', { total: { cpus: 2, mem: 1024 } })]), [request('/web', 3, { resources: { cpus: 1, mem: 100 } })]);
    expect(onto(plan)).toEqual(['a', 'a']);
    expect(plan.unplaced).toEqual([
      {
        key: '/web',
        appId: '/web',
        count: 1,
        explanation: {
          agentsConsidered: 1,
          rejections: [{ reason: 'insufficient cpus', agents: 1, detail: 'need 1 cpus, most free 0 cpus' }],
          summary: '1 agent: insufficient cpus (need 1 cpus, most free 0 cpus)',
        },
      },
    ]);
  });

  it('explains per reason how many agents were ruled out, with the most free amount', () => {
    const snap = snapshot([
      agent('a', { total: { cpus: 4, mem: 256 } }),
      agent('b', { total: { cpus: 4, mem: 512 }, used: { mem: 256 } }),
      agent('c', { total: { cpus: 4, mem: 300 } }),
      agent('d', { total: { cpus: 0.5, mem: 4096 } }),
      agent('e', { total: { cpus: 4, mem: 4096 }, ports: '8080' }),
    ]);
    const plan = run(snap, [request('/big', 1, { resources: { cpus: 1, mem: 512 }, ports: [8080, 0] })]);
    expect(plan.placements).toEqual([]);
    const e = plan.unplaced[0]?.explanation;
    expect(e?.agentsConsidered).toBe(5);
    expect(e?.summary).toBe(
      '3 agents: insufficient mem (need 512 MiB, most free 300 MiB); 1 agent: insufficient cpus (need 1 cpus, most free 0.5 cpus); 1 agent: insufficient ports (need 1 ports, most free 0 ports)',
    );
  });

  it('assigns distinct host ports across instances on one agent, and a fixed port once', () => {
    const plan = run(snapshot([agent('a', { ports: '31000-31003' })]), [request('/web', 3, { ports: [0] })]);
    expect(plan.placements).toHaveLength(3);
    expect(new Set(plan.placements.flatMap((p) => p.hostPorts)).size).toBe(3);
    const fixed = run(snapshot([agent('a', { ports: '31000-31009' })]), [request('/fixed', 2, { ports: [31005] })]);
    expect(fixed.placements).toHaveLength(1);
    expect(fixed.unplaced[0]?.explanation.summary).toBe('1 agent: port 31005 unavailable');
  });

  it('says so when there are no agents', () => {
    const plan = run(snapshot([]), [request('/web', 2)]);
    expect(plan.unplaced).toEqual([{ key: '/web', appId: '/web', count: 2, explanation: { agentsConsidered: 0, rejections: [], summary: 'no agents are available' } }]);
  });

  it('places nothing for a request of 0 instances', () => {
    expect(run(snapshot([agent('a')]), [request('/web', 0)])).toEqual({ placements: [], unplaced: [] });
  });

  it('sees earlier requests of the same pass', () => {
    const snap = snapshot([agent('a', { total: { cpus: 1, mem: 1024 } })]);
    const plan = run(snap, [request('/one', 1, { resources: { cpus: 0.6 } }), request('/two', 1, { resources: { cpus: 0.6 } })]);
    expect(onto(plan)).toEqual(['a']);
    expect(plan.unplaced.map((u) => u.key)).toEqual(['/two']);
  });
});

describe('schedule: strategies', () => {
  const twoAgents = () =>
    snapshot([agent('empty', { total: { cpus: 4, mem: 4096 } }), agent('busy', { total: { cpus: 4, mem: 4096 }, used: { cpus: 3 } })]);

  it('binpack fills the busiest agent that fits', () => {
    expect(onto(run(twoAgents(), [request('/web', 2, { resources: { cpus: 0.5, mem: 64 } })]))).toEqual(['busy', 'busy']);
  });

  it('spread prefers the least loaded agent', () => {
    expect(onto(run(twoAgents(), [request('/web', 2, { resources: { cpus: 0.5, mem: 64 }, strategy: 'spread' })]))).toEqual(['empty', 'empty']);
  });

  it('binpack puts identical instances on one agent; spread over all', () => {
    const snap = snapshot(fleet(4));
    expect(Object.values(perAgent(run(snap, [request('/web', 4)])))).toEqual([4]);
    expect(Object.values(perAgent(run(snap, [request('/web', 4, { strategy: 'spread' })])))).toEqual([1, 1, 1, 1]);
  });

  it('binpack fills a larger cluster agent by agent', () => {
    const snap = snapshot(fleet(300));
    // 8 cpus per agent, 1 cpu each: exactly 5 agents' worth.
    const plan = run(snap, [request('/web', 40, { resources: { cpus: 1, mem: 64 } })]);
    expect(Object.values(perAgent(plan)).sort()).toEqual([8, 8, 8, 8, 8]);
  });

  it('spread over a larger cluster stays even', () => {
    const snap = snapshot(fleet(100));
    const plan = run(snap, [request('/web', 300, { strategy: 'spread' })]);
    const counts = Object.values(perAgent(plan));
    // Best of 8 scattered choices per instance, not a global optimum: every
    // agent used, none more than a couple of tasks from the mean of 3.
    expect(counts).toHaveLength(100);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...counts)).toBeLessThanOrEqual(5);
  });

  it('fails loudly on an unknown strategy or operator', () => {
    const snap = snapshot([agent('a')]);
    expect(() => schedule(snap, [{ ...request('/web', 1), strategy: 'nope' as 'spread' }])).toThrow(/unknown score plugin "nope"/);
    expect(() => schedule(snap, [request('/web', 1, { constraints: [{ field: 'rack', operator: 'NEAR' as 'IS' }] })])).toThrow(
      /unknown filter plugin "NEAR"/,
    );
    expect(() => schedule(snap, [], { sampleSize: 0 })).toThrow(/sampleSize/);
    expect(() => schedule(snap, [request('/web', 1.5)])).toThrow(/count/);
  });
});

describe('schedule: draining and constraints end to end', () => {
  it('never places on a draining agent, and says so', () => {
    const snap = snapshot([agent('a', { draining: true }), agent('b', { draining: true, total: { cpus: 0 } })]);
    const plan = run(snap, [request('/web', 1)]);
    expect(plan.unplaced[0]?.explanation.summary).toBe('2 agents: draining');
  });

  it('UNIQUE hostname: one per host, then an exact explanation of the rest', () => {
    const snap = snapshot([
      ...fleet(3),
      agent('drained', { draining: true }),
      agent('small', { total: { cpus: 8, mem: 16 } }),
    ]);
    const plan = run(snap, [request('/web', 5, { constraints: [constraint('hostname', 'UNIQUE')] })]);
    expect(onto(plan).sort()).toEqual(['a0', 'a1', 'a2']);
    expect(plan.unplaced).toHaveLength(1);
    expect(plan.unplaced[0]?.count).toBe(2);
    expect(plan.unplaced[0]?.explanation).toEqual({
      agentsConsidered: 5,
      rejections: [
        { reason: 'constraint hostname UNIQUE', agents: 3, detail: '' },
        { reason: 'draining', agents: 1, detail: '' },
        { reason: 'insufficient mem', agents: 1, detail: 'need 32 MiB, most free 16 MiB' },
      ],
      summary: '3 agents: constraint hostname UNIQUE; 1 agent: draining; 1 agent: insufficient mem (need 32 MiB, most free 16 MiB)',
    });
  });

  it("honours the snapshot's live tasks, including those on agents it does not list", () => {
    const snap = snapshot(fleet(3), { '/web': { a0: 1, a2: 1, lost: 4 } });
    const plan = run(snap, [request('/web', 2, { constraints: [constraint('hostname', 'UNIQUE')] })]);
    expect(onto(plan)).toEqual(['a1']);
    expect(plan.unplaced[0]?.explanation.summary).toBe('3 agents: constraint hostname UNIQUE');
  });

  it('counts tasks on agents it cannot place on (disconnected) by their hostname and attributes', () => {
    // a3 is disconnected but still runs a task in rack r0; a0 is also in r0.
    const base = snapshot(fleet(3, (i) => ({ rack: `r${i}` })), { '/web': { a3: 1 } });
    const snap = { ...base, elsewhere: new Map([['a3', { hostname: 'a0.example', attributes: { rack: 'r0' } }]]) };
    const plan = run(snap, [request('/web', 3, { constraints: [constraint('rack', 'MAX_PER', '1')] })]);
    expect(onto(plan).sort()).toEqual(['a1', 'a2']);
    expect(plan.unplaced[0]?.explanation.summary).toBe('3 agents: constraint rack MAX_PER 1');
    // The same hostname counts for UNIQUE hostname as well.
    const unique = run(snap, [request('/web', 3, { constraints: [constraint('hostname', 'UNIQUE')] })]);
    expect(onto(unique).sort()).toEqual(['a1', 'a2']);
  });

  it('requests of the same app in one pass count each other', () => {
    const unique = { constraints: [constraint('hostname', 'UNIQUE')] };
    const plan = run(snapshot(fleet(3)), [request('/web', 2, { key: 'v1', ...unique }), request('/web', 2, { key: 'v2', ...unique })]);
    expect(new Set(onto(plan)).size).toBe(3);
    expect(plan.unplaced.map((u) => [u.key, u.count])).toEqual([['v2', 1]]);
  });

  it('MAX_PER rack caps each rack', () => {
    const snap = snapshot(fleet(6, (i) => ({ rack: `r${i % 2}` })));
    const plan = run(snap, [request('/web', 6, { constraints: [constraint('rack', 'MAX_PER', '2')] })]);
    expect(plan.placements).toHaveLength(4);
    expect(plan.unplaced[0]?.explanation.summary).toBe('6 agents: constraint rack MAX_PER 2');
  });

  it('GROUP_BY zone evens the zones out, filling the emptiest first', () => {
    const agents = fleet(9, (i) => ({ zone: `z${i % 3}` }));
    const zoneOf = (id: string) => agents.find((a) => a.id === id)?.attributes.zone ?? '';
    const zones = (plan: Plan) => {
      const out: Record<string, number> = {};
      for (const id of onto(plan)) out[zoneOf(id)] = (out[zoneOf(id)] ?? 0) + 1;
      return out;
    };
    const groupBy = { constraints: [constraint('zone', 'GROUP_BY')] };
    expect(zones(run(snapshot(agents), [request('/web', 9, groupBy)]))).toEqual({ z0: 3, z1: 3, z2: 3 });
    // z0 already runs 3: the first 4 new instances go to z1 and z2.
    const plan = run(snapshot(agents, { '/web': { a0: 3 } }), [request('/web', 4, groupBy)]);
    expect(zones(plan)).toEqual({ z1: 2, z2: 2 });
  });

  it('CLUSTER without a value: the first placement fixes the rack for the pass', () => {
    const snap = snapshot(fleet(8, (i) => ({ rack: `r${i % 4}` })));
    const plan = run(snap, [request('/web', 6, { strategy: 'spread', constraints: [constraint('rack', 'CLUSTER')] })]);
    const racks = new Set(onto(plan).map((id) => snap.agents.find((a) => a.id === id)?.attributes.rack));
    expect(racks.size).toBe(1);
    expect(plan.placements).toHaveLength(6);
    // With live tasks, it joins them.
    const joined = run(snapshot(snap.agents, { '/web': { a2: 1 } }), [request('/web', 2, { constraints: [constraint('rack', 'CLUSTER')] })]);
    expect(onto(joined).every((id) => ['a2', 'a6'].includes(id))).toBe(true);
  });

  it('LIKE, IS and IN narrow the agents; missing attributes are explained', () => {
    const agents = [...fleet(6, (i) => ({ zone: `z${i % 3}`, rack: `r${i}` })), agent('bare')];
    const plan = run(snapshot(agents), [
      request('/like', 1, { constraints: [constraint('zone', 'LIKE', 'z[12]')], strategy: 'spread' }),
      request('/is', 1, { constraints: [constraint('rack', 'IS', 'r4')] }),
      request('/in', 1, { constraints: [constraint('rack', 'IN', 'r0, r5')] }),
      request('/none', 1, { constraints: [constraint('zone', 'IS', 'z9')] }),
    ]);
    expect(plan.placements.map((p) => [p.key, p.agentId])).toEqual([
      ['/like', expect.stringMatching(/^a[1245]$/)],
      ['/is', 'a4'],
      ['/in', expect.stringMatching(/^a[05]$/)],
    ]);
    expect(plan.unplaced[0]?.explanation.summary).toBe('6 agents: constraint zone IS z9; 1 agent: no attribute zone (for constraint zone IS z9)');
  });
});

describe('schedule: sampling', () => {
  it.each([1, 2, 8])('still places everything when capacity exists (sampleSize %i)', (sampleSize) => {
    // 500 agents that each fit exactly one instance: every agent must be found.
    const snap = snapshot(fleet(500, () => ({}), { cpus: 1, mem: 1024 }));
    const plan = run(snap, [request('/web', 500, { resources: { cpus: 1, mem: 1 } })], { sampleSize });
    expect(plan.unplaced).toEqual([]);
    expect(new Set(onto(plan)).size).toBe(500);
  });

  it('finds the one agent in thousands that qualifies', () => {
    const snap = snapshot(fleet(3000, (i) => ({ rack: `r${i}` })));
    const plan = run(snap, [request('/web', 1, { constraints: [constraint('rack', 'IS', 'r2718')], strategy: 'spread' })]);
    expect(onto(plan)).toEqual(['a2718']);
  });

  it('explains a failure exactly over every agent, however many', () => {
    const agents = Array.from({ length: 1000 }, (_, i) =>
      agent(`a${i}`, {
        total: { cpus: 4, mem: i % 10 === 0 ? 64 : 4096 },
        draining: i % 10 === 1,
        attributes: i % 10 === 2 ? {} : { zone: `z${i % 3}` },
      }),
    );
    const plan = run(snapshot(agents), [request('/web', 3000, { resources: { cpus: 1, mem: 128 }, constraints: [constraint('zone', 'LIKE', 'z.*')] })]);
    // The 700 ordinary agents take 4 instances each; the rest none.
    expect(plan.placements).toHaveLength(2800);
    expect(plan.unplaced[0]?.count).toBe(200);
    const e = plan.unplaced[0]?.explanation;
    expect(e?.agentsConsidered).toBe(1000);
    expect(e?.rejections.map((r) => [r.reason, r.agents])).toEqual([
      ['insufficient cpus', 700],
      ['draining', 100],
      ['insufficient mem', 100],
      ['no attribute zone', 100],
    ]);
  });

  it('is deterministic under a seed', () => {
    const agents = fleet(400, (i) => ({ rack: `r${i % 10}`, zone: `z${i % 3}` }));
    const snap = snapshot(agents, { '/a': { a1: 2, a7: 1 } });
    const reqs = [
      request('/a', 50, { ports: [0, 0], strategy: 'spread', constraints: [constraint('zone', 'GROUP_BY')] }),
      request('/b', 80, { ports: [0], constraints: [constraint('hostname', 'UNIQUE')] }),
      request('/c', 60, { strategy: 'spread', constraints: [constraint('rack', 'MAX_PER', '7')] }),
    ];
    const first = run(snap, reqs, { seed: 42 });
    expect(run(snap, reqs, { seed: 42 })).toEqual(first);
    expect(run(snap, reqs, { seed: 43 })).not.toEqual(first);
  });
});
