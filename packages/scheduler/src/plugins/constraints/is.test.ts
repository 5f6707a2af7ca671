import { describe, expect, it } from 'vitest';
import { type ConstraintCase, constraintVerdict } from '../../testing/constraint-cluster.js';

describe('IS', () => {
  it.each<ConstraintCase>([
    { name: 'equal value', field: 'rack', value: 'r1', agent: 'a2', code: 'schedulable' },
    { name: 'other value', field: 'rack', value: 'r1', agent: 'a3', code: 'unresolvable', reason: 'constraint rack IS r1' },
    { name: 'comparison is exact (case)', field: 'rack', value: 'R1', agent: 'a1', code: 'unresolvable' },
    { name: 'not a regex', field: 'rack', value: 'r.', agent: 'a1', code: 'unresolvable' },
    { name: 'hostname', field: 'hostname', value: 'a3.example', agent: 'a3', code: 'schedulable' },
    { name: 'agent without the attribute', field: 'rack', value: 'r1', agent: 'bare', code: 'unresolvable', reason: 'no attribute rack' },
  ])('$name', (row) => {
    const status = constraintVerdict('IS', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
  });
});
