import { formatPortRanges, parsePortRanges, scalars } from '@drover/common';
import { describe, expect, it } from 'vitest';
import type { AgentReservation } from './agent-ledger.js';
import type { AgentRecord } from '../model/records.js';
import { foreignPorts, freeOf } from './reservations.js';

const agent: AgentRecord = {
  id: 'a',
  hostname: 'a.test',
  address: '10.0.0.1',
  total: scalars({ cpus: 4, mem: 1024 }),
  ports: parsePortRanges('31000-31009'),
  attributes: {},
  state: 'ACTIVE',
  version: 'test',
  registeredAt: 0,
  lastSeenAt: 0,
};

function reservation(ports: number[]): AgentReservation {
  return { used: scalars({ cpus: 1, mem: 100 }), ports: new Map(ports.map((p) => [p, 1])), liveTasks: ports.length };
}

describe('free ports of an agent', () => {
  it.each([
    { name: 'nothing held, nothing in use', held: [], inUse: '', free: '31000-31009', foreign: '' },
    { name: 'ports held by tasks', held: [31001, 31005], inUse: '', free: '31000,31002-31004,31006-31009', foreign: '' },
    { name: 'ports other processes use', held: [], inUse: '31003-31004', free: '31000-31002,31005-31009', foreign: '31003-31004' },
    {
      name: 'a task listening on its own port is not counted twice',
      held: [31001, 31002],
      inUse: '31002,31007',
      free: '31000,31003-31006,31008-31009',
      foreign: '31007',
    },
    { name: 'everything taken', held: [31000], inUse: '31001-31009', free: '', foreign: '31001-31009' },
  ])('$name', ({ held, inUse, free, foreign }) => {
    const r = reservation(held);
    const out = freeOf(agent, r, parsePortRanges(inUse));
    expect(formatPortRanges(out.freePorts)).toBe(free);
    expect(out.free).toEqual(scalars({ cpus: 3, mem: 924 }));
    expect(formatPortRanges(foreignPorts(r, parsePortRanges(inUse)))).toBe(foreign);
  });
});
