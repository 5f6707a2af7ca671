import { describe, expect, it } from 'vitest';
import { type ConstraintCase, constraintVerdict } from '../../testing/constraint-cluster.js';

describe('UNIQUE', () => {
  it.each<ConstraintCase>([
    { name: 'host already running the app', field: 'hostname', placed: { a1: 1 }, agent: 'a1', code: 'unschedulable', reason: 'constraint hostname UNIQUE' },
    { name: 'another host', field: 'hostname', placed: { a1: 1 }, agent: 'a2', code: 'schedulable' },
    { name: 'app not running anywhere', field: 'hostname', agent: 'a1', code: 'schedulable' },
    { name: 'rack taken through another agent', field: 'rack', placed: { a1: 1 }, agent: 'a2', code: 'unschedulable', reason: 'constraint rack UNIQUE' },
    { name: 'free rack', field: 'rack', placed: { a1: 1 }, agent: 'a3', code: 'schedulable' },
    { name: 'agent without the attribute', field: 'rack', agent: 'bare', code: 'unresolvable', reason: 'no attribute rack' },
    { name: 'tasks on an agent missing from the snapshot do not count per value', field: 'rack', placed: { gone: 3 }, agent: 'a1', code: 'schedulable' },
    { name: 'zero count entries are ignored', field: 'hostname', placed: { a1: 0 }, agent: 'a1', code: 'schedulable' },
  ])('$name', (row) => {
    const status = constraintVerdict('UNIQUE', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
  });
});
