import { parsePortRanges } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.js';
import { assignPorts, portShortfall } from './port-assigner.js';

const any = { port: 0 };

describe('port assignment', () => {
  it.each([
    { name: 'fixed port inside a range', free: '31000-31010', req: [{ port: 31005 }], ok: true },
    { name: 'fixed port outside the ranges', free: '31000-31010', req: [{ port: 8080 }], ok: false },
    { name: 'as many any-ports as free', free: '31000-31002', req: [any, any, any], ok: true },
    { name: 'one more than free', free: '31000-31002', req: [any, any, any, any], ok: false },
    { name: 'fixed ports use up the range', free: '31000-31001', req: [{ port: 31000 }, any, any], ok: false },
    { name: 'no ports needed, none free', free: '', req: [], ok: true },
  ])('$name', ({ free, req, ok }) => {
    const ranges = parsePortRanges(free);
    expect(portShortfall(ranges, req) === undefined).toBe(ok);
    const ports = assignPorts(ranges, req, seededRandom(7));
    if (!ok) {
      expect(ports).toBeUndefined();
      return;
    }
    expect(ports).toHaveLength(req.length);
    expect(new Set(ports).size).toBe(req.length);
    ports?.forEach((p, i) => {
      expect(ranges.some((r) => p >= r.begin && p <= r.end)).toBe(true);
      if (req[i]?.port !== 0) expect(p).toBe(req[i]?.port);
    });
  });

  it('never hands out a fixed port twice, and is deterministic under a seed', () => {
    const ranges = parsePortRanges('31000-31003');
    for (let seed = 0; seed < 50; seed++) {
      const ports = assignPorts(ranges, [any, { port: 31002 }, any, any], seededRandom(seed));
      expect(new Set(ports).size).toBe(4);
      expect(ports?.[1]).toBe(31002);
      expect(assignPorts(ranges, [any, { port: 31002 }, any, any], seededRandom(seed))).toEqual(ports);
    }
  });

  it('spreads any-ports over the range instead of always taking the lowest', () => {
    const ranges = parsePortRanges('31000-32000');
    const random = seededRandom(3);
    const chosen = new Set(Array.from({ length: 20 }, () => assignPorts(ranges, [any], random)?.[0]));
    expect(chosen.size).toBeGreaterThan(15);
  });
});
