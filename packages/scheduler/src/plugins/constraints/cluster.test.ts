import { describe, expect, it } from 'vitest';
import { type ConstraintCase, constraintVerdict } from '../../testing/constraint-cluster.js';

describe('CLUSTER', () => {
  it.each<ConstraintCase & { detail?: string }>([
    { name: 'value given, agent has it', field: 'rack', value: 'r2', agent: 'a3', code: 'schedulable' },
    { name: 'value given, agent has another', field: 'rack', value: 'r2', agent: 'a1', code: 'unresolvable', reason: 'constraint rack CLUSTER r2' },
    { name: 'no value, app not running: anywhere', field: 'rack', agent: 'a3', code: 'schedulable' },
    { name: 'no value, joins the rack the app runs on', field: 'rack', placed: { a1: 2 }, agent: 'a2', code: 'schedulable' },
    { name: 'no value, another rack', field: 'rack', placed: { a1: 2 }, agent: 'a3', code: 'unschedulable', reason: 'constraint rack CLUSTER', detail: 'tasks run on r1' },
    { name: 'no value, app already split over racks', field: 'rack', placed: { a1: 1, a3: 1 }, agent: 'a1', code: 'unschedulable', reason: 'constraint rack CLUSTER', detail: 'tasks run on r1, r2' },
    { name: 'hostname: stay on the host', field: 'hostname', placed: { a2: 1 }, agent: 'a2', code: 'schedulable' },
    { name: 'agent without the attribute', field: 'rack', agent: 'bare', code: 'unresolvable', reason: 'no attribute rack' },
  ])('$name', (row) => {
    const status = constraintVerdict('CLUSTER', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
    if (row.detail) expect(status).toMatchObject({ detail: row.detail });
  });
});
