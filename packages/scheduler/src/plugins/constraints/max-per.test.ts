import { describe, expect, it } from 'vitest';
import { type ConstraintCase, constraintVerdict } from '../../testing/constraint-cluster.js';

describe('MAX_PER', () => {
  it.each<ConstraintCase>([
    { name: 'under the limit', field: 'rack', value: '2', placed: { a1: 1 }, agent: 'a2', code: 'schedulable' },
    { name: 'at the limit through another agent', field: 'rack', value: '2', placed: { a1: 1, a2: 1 }, agent: 'a2', code: 'unschedulable', reason: 'constraint rack MAX_PER 2' },
    { name: 'limit 1 per host', field: 'hostname', value: '1', placed: { a1: 1 }, agent: 'a1', code: 'unschedulable', reason: 'constraint hostname MAX_PER 1' },
    { name: 'another value is unaffected', field: 'rack', value: '1', placed: { a1: 1 }, agent: 'a3', code: 'schedulable' },
    { name: 'counts add up over agents', field: 'zone', value: '3', placed: { a1: 2, a3: 1 }, agent: 'a3', code: 'unschedulable', reason: 'constraint zone MAX_PER 3' },
    { name: 'agent without the attribute', field: 'zone', value: '5', agent: 'bare', code: 'unresolvable', reason: 'no attribute zone' },
  ])('$name', (row) => {
    const status = constraintVerdict('MAX_PER', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
  });
});
