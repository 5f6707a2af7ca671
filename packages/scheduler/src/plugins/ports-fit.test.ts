import { describe, expect, it } from 'vitest';
import { agent, request, snapshot } from '../testing/builders.js';
import { preparedFilter } from '../testing/filter-harness.js';

describe('ports-fit', () => {
  it.each<{ name: string; free: string; ports: number[]; code: string; reason?: string }>([
    { name: 'no ports needed, none free', free: '', ports: [], code: 'schedulable' },
    { name: 'any ports from a range', free: '31000-31001', ports: [0, 0], code: 'schedulable' },
    { name: 'one too many', free: '31000-31001', ports: [0, 0, 0], code: 'unschedulable', reason: 'insufficient ports' },
    { name: 'fixed port free', free: '80,31000', ports: [80], code: 'schedulable' },
    { name: 'fixed port taken', free: '31000-31010', ports: [8080], code: 'unschedulable', reason: 'port 8080 unavailable' },
    { name: 'fixed ports use up the range', free: '31000-31001', ports: [31000, 0, 0], code: 'unschedulable', reason: 'insufficient ports' },
  ])('$name', ({ free, ports, code, reason }) => {
    const status = preparedFilter('ports-fit', snapshot([agent('a', { ports: free })]), request('/web', 1, { ports })).check('a');
    expect(status.code).toBe(code);
    if (reason) expect(status).toMatchObject({ reason });
  });

  it('sees ports the pass has taken', () => {
    const req = request('/web', 1, { ports: [0] });
    const { pass, agent: working, check } = preparedFilter('ports-fit', snapshot([agent('a', { ports: '31000-31001' })]), req);
    expect(check('a').code).toBe('schedulable');
    pass.place(working('a'), '/web', req.resources, [31000]);
    expect(check('a').code).toBe('schedulable');
    pass.place(working('a'), '/web', req.resources, [31001]);
    expect(check('a')).toMatchObject({ code: 'unschedulable', reason: 'insufficient ports', measure: { need: 1, have: 0 } });
  });
});
