import { fixed, scalars } from '@drover/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FreeIndex, type WalkOrder } from './free-index.js';
import { agent } from './testing/builders.js';
import { type WorkingAgent, workingAgent } from './working-agent.js';

const fitsCpusMem = (need: { cpus: number; mem: number }, a: WorkingAgent) =>
  fixed(need.cpus) <= fixed(a.free.cpus) && fixed(need.mem) <= fixed(a.free.mem);

/** Every ordinal a full walk yields. */
function walked(index: FreeIndex, need: { cpus: number; mem: number }, order: WalkOrder): number[] {
  const seen: number[] = [];
  index.walk(scalars(need), order, (o) => {
    seen.push(o);
    return true;
  });
  return seen;
}

const freeAmounts = fc.record({
  cpus: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64_000 }).map((m) => m / 1000)),
  mem: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 262_144 })),
});

describe('FreeIndex', () => {
  it.each<{ name: string; order: WalkOrder }>([
    { name: 'tightest', order: { kind: 'tightest' } },
    { name: 'scattered from the start', order: { kind: 'scattered', start: 0 } },
    { name: 'scattered from the middle', order: { kind: 'scattered', start: 0.5 } },
    { name: 'scattered from the end', order: { kind: 'scattered', start: 0.999999 } },
  ])('a $name walk yields every agent that fits exactly once, through moves and removals', ({ order }) => {
    fc.assert(
      fc.property(
        fc.array(freeAmounts, { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(), freeAmounts, fc.boolean()), { maxLength: 30 }),
        freeAmounts,
        (frees, changes, need) => {
          const agents = frees.map((free, i) => {
            const w = workingAgent(agent(`a${i}`, { total: { cpus: 64, mem: 262_144 } }), i);
            w.free = scalars(free);
            return w;
          });
          const index = new FreeIndex(agents.length);
          for (const a of agents) index.add(a);
          // Agents change free resources (placements) or leave (parking).
          for (const [pick, free, leave] of changes) {
            const a = agents[pick % agents.length] as WorkingAgent;
            if (leave) index.remove(a);
            else {
              a.free = scalars(free);
              index.update(a);
            }
          }
          const seen = walked(index, need, order);
          expect(new Set(seen).size).toBe(seen.length);
          const expected = agents.filter((a) => index.has(a) && fitsCpusMem(need, a)).map((a) => a.ordinal);
          expect(seen).toEqual(expect.arrayContaining(expected));
          expect(seen.every((o) => index.has(agents[o] as WorkingAgent))).toBe(true);
        },
      ),
    );
  });

  it('skips agents in cells that cannot fit without visiting them', () => {
    const agents = [0.5, 1, 2, 4, 8, 16].map((cpus, i) => {
      const w = workingAgent(agent(`a${i}`, { total: { cpus: 16, mem: 1024 } }), i);
      w.free = scalars({ cpus, mem: 1024 });
      return w;
    });
    const index = new FreeIndex(agents.length);
    for (const a of agents) index.add(a);
    // 3 cpus: cell [2.048, 4.096) and up; 2 cpus' cell is [1.024, 2.048).
    expect(walked(index, { cpus: 3, mem: 1 }, { kind: 'tightest' })).toEqual([3, 4, 5]);
    expect(index.size).toBe(6);
  });

  it('walks tightest first, and puts an agent that moved at the front of its new cell', () => {
    const agents = [16, 4, 4, 8].map((cpus, i) => {
      const w = workingAgent(agent(`a${i}`, { total: { cpus: 16, mem: 1024 } }), i);
      w.free = scalars({ cpus, mem: 1000 });
      return w;
    });
    const index = new FreeIndex(agents.length);
    for (const a of agents) index.add(a);
    expect(walked(index, { cpus: 1, mem: 1 }, { kind: 'tightest' })).toEqual([2, 1, 3, 0]);
    (agents[0] as WorkingAgent).free = scalars({ cpus: 5, mem: 1000 });
    index.update(agents[0] as WorkingAgent);
    expect(walked(index, { cpus: 1, mem: 1 }, { kind: 'tightest' })).toEqual([2, 1, 0, 3]);
  });

  it('stops when the visitor says so', () => {
    const agents = Array.from({ length: 20 }, (_, i) => workingAgent(agent(`a${i}`), i));
    const index = new FreeIndex(agents.length);
    for (const a of agents) index.add(a);
    let n = 0;
    index.walk(scalars({ cpus: 1 }), { kind: 'scattered', start: 0.3 }, () => ++n < 5);
    expect(n).toBe(5);
  });
});
