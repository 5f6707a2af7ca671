import { describe, expect, it } from 'vitest';
import { constraint, request } from '../../testing/builders.js';
import { type ConstraintCase, constraintCluster, constraintVerdict } from '../../testing/constraint-cluster.js';
import { preparedFilter } from '../../testing/filter-harness.js';

describe('GROUP_BY', () => {
  it.each<ConstraintCase>([
    { name: 'empty rack is the minimum', field: 'rack', placed: { a1: 1 }, agent: 'a3', code: 'schedulable' },
    { name: 'rack ahead of the others', field: 'rack', placed: { a1: 1 }, agent: 'a2', code: 'unschedulable', reason: 'constraint rack GROUP_BY' },
    { name: 'all even: any rack', field: 'rack', placed: { a1: 1, a3: 1 }, agent: 'a2', code: 'schedulable' },
    { name: 'app not running: any rack', field: 'rack', agent: 'a1', code: 'schedulable' },
    { name: 'zone: z2 behind', field: 'zone', placed: { a1: 1 }, agent: 'a2', code: 'schedulable' },
    { name: 'zone: z1 ahead through another agent', field: 'zone', placed: { a1: 1 }, agent: 'a3', code: 'unschedulable', reason: 'constraint zone GROUP_BY' },
    { name: 'expected 3 racks, 2 known and both used: a missing rack holds 0', field: 'rack', value: '3', placed: { a1: 1, a3: 1 }, agent: 'a3', code: 'unschedulable', reason: 'constraint rack GROUP_BY 3' },
    { name: 'expected 2 racks, 2 known: even is fine', field: 'rack', value: '2', placed: { a1: 1, a3: 1 }, agent: 'a1', code: 'schedulable' },
    { name: 'expected 3 racks, empty rack still acceptable', field: 'rack', value: '3', placed: { a1: 1 }, agent: 'a3', code: 'schedulable' },
    { name: 'agent without the attribute', field: 'rack', agent: 'bare', code: 'unresolvable', reason: 'no attribute rack' },
  ])('$name', (row) => {
    const status = constraintVerdict('GROUP_BY', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
  });

  it('moves the minimum up as the pass places instances', () => {
    const snap = constraintCluster({ a1: 1 });
    const req = request('/web', 4);
    const { filter, pass, agent, check } = preparedFilter('GROUP_BY', snap, req, constraint('rack', 'GROUP_BY'));
    const place = (id: string) => {
      pass.place(agent(id), '/web', req.resources, []);
      filter.placed?.(agent(id));
    };
    // r1 = 1, r2 = 0
    expect([check('a1').code, check('a3').code]).toEqual(['unschedulable', 'schedulable']);
    place('a3'); // r1 = 1, r2 = 1
    expect([check('a1').code, check('a3').code]).toEqual(['schedulable', 'schedulable']);
    place('a2'); // r1 = 2, r2 = 1
    expect([check('a1').code, check('a3').code]).toEqual(['unschedulable', 'schedulable']);
  });
});
