/**
 * Properties of every plan on random clusters: no agent overcommitted on any
 * resource or port, UNIQUE and MAX_PER never broken (counting the
 * snapshot's live tasks), nothing on draining agents, every instance either
 * placed or counted unplaced, and the same plan for the same seed.
 */
import type { Constraint } from '@drover/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedule } from './schedule.js';
import { agent, constraint, request, snapshot } from './testing/builders.js';
import { planViolations } from './testing/plan-invariants.js';
import type { PlacementRequest } from './types.js';

const agentArb = (i: number) =>
  fc
    .record({
      cpus: fc.integer({ min: 0, max: 16 }).map((n) => n / 2),
      mem: fc.integer({ min: 0, max: 8 }).map((n) => n * 512),
      disk: fc.constantFrom(0, 1024),
      gpus: fc.constantFrom(0, 0, 0, 1, 2),
      usedShare: fc.constantFrom(0, 0.25, 0.5, 1),
      ports: fc.constantFrom('', '31000', '31000-31002', '31000-31009,32000'),
      rack: fc.constantFrom('r1', 'r2', 'r3', undefined),
      zone: fc.constantFrom('z1', 'z2', undefined),
      host: fc.constantFrom(`h${i}`, `h${i}`, 'shared'),
      draining: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    })
    .map((s) =>
      agent(`a${i}`, {
        hostname: s.host,
        total: { cpus: s.cpus, mem: s.mem, disk: s.disk, gpus: s.gpus },
        used: { cpus: s.cpus * s.usedShare, mem: s.mem * s.usedShare },
        ports: s.ports,
        attributes: { ...(s.rack ? { rack: s.rack } : {}), ...(s.zone ? { zone: s.zone } : {}) },
        draining: s.draining,
      }),
    );

const constraintArb: fc.Arbitrary<Constraint> = fc.oneof(
  fc.constant(constraint('hostname', 'UNIQUE')),
  fc.constant(constraint('rack', 'UNIQUE')),
  fc.integer({ min: 1, max: 3 }).map((n) => constraint('rack', 'MAX_PER', String(n))),
  fc.integer({ min: 1, max: 2 }).map((n) => constraint('hostname', 'MAX_PER', String(n))),
  fc.constant(constraint('zone', 'GROUP_BY')),
  fc.constant(constraint('rack', 'CLUSTER')),
  fc.constant(constraint('zone', 'LIKE', 'z[12]')),
  fc.constant(constraint('rack', 'UNLIKE', 'r3')),
  fc.constant(constraint('rack', 'IN', 'r1, r2')),
  fc.constant(constraint('zone', 'IS', 'z2')),
);

const requestArb = (i: number): fc.Arbitrary<PlacementRequest> =>
  fc
    .record({
      app: fc.constantFrom('/a', '/b', '/c'),
      count: fc.integer({ min: 0, max: 12 }),
      cpus: fc.constantFrom(0, 0.1, 0.5, 1, 2),
      mem: fc.constantFrom(0, 64, 512, 1024),
      disk: fc.constantFrom(0, 0, 100),
      gpus: fc.constantFrom(0, 0, 0, 1),
      ports: fc
        .array(fc.constantFrom<number>(0, 0, 31000, 31001, 32000), { maxLength: 3 })
        // Fixed ports once each (app validation refuses duplicates), any-ports as drawn.
        .map((ps) => [...new Set(ps.filter((p) => p !== 0)), ...ps.filter((p) => p === 0)]),
      constraints: fc.array(constraintArb, { maxLength: 2 }),
      strategy: fc.constantFrom('binpack' as const, 'spread' as const),
    })
    .map((r) =>
      request(r.app, r.count, {
        key: `${r.app}#${i}`,
        resources: { cpus: r.cpus, mem: r.mem, disk: r.disk, gpus: r.gpus },
        ports: r.ports,
        constraints: r.constraints,
        strategy: r.strategy,
      }),
    );

const scenario = fc
  .integer({ min: 0, max: 12 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => agentArb(i))))
  .chain((agents) =>
    fc.record({
      agents: fc.constant(agents),
      placed: fc.dictionary(
        fc.constantFrom('/a', '/b', '/c'),
        fc.dictionary(fc.constantFrom(...agents.map((a) => a.id), 'gone'), fc.integer({ min: 0, max: 2 })),
      ),
      requests: fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => requestArb(i)))),
      seed: fc.integer(),
      sampleSize: fc.integer({ min: 1, max: 10 }),
    }),
  );

describe('schedule properties', () => {
  it('never overcommits an agent or breaks UNIQUE / MAX_PER, and accounts for every instance', () => {
    fc.assert(
      fc.property(scenario, ({ agents, placed, requests, seed, sampleSize }) => {
        const snap = snapshot(agents, placed);
        const plan = schedule(snap, requests, { seed, sampleSize });
        expect(planViolations(snap, requests, plan)).toEqual([]);
        for (const u of plan.unplaced) expect(u.explanation.agentsConsidered).toBe(agents.length);
        expect(schedule(snap, requests, { seed, sampleSize })).toEqual(plan);
      }),
      { numRuns: 400 },
    );
  });

  it('the sample size changes choices, never whether an instance without constraints fits', () => {
    fc.assert(
      fc.property(scenario, ({ agents, requests, seed }) => {
        const snap = snapshot(agents);
        // Without constraints or ports, one instance per request fits iff some agent can take it.
        const single = requests.map((r) => ({ ...r, count: Math.min(r.count, 1), constraints: [], ports: [] }));
        const counts = (sampleSize: number) =>
          single.map((r) => schedule(snap, [r], { seed, sampleSize }).placements.length);
        expect(counts(1)).toEqual(counts(10));
      }),
      { numRuns: 200 },
    );
  });
});

