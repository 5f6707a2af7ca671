import { describe, expect, it } from 'vitest';
import { type ConstraintCase, constraintVerdict } from '../../testing/constraint-cluster.js';

describe('IN', () => {
  it.each<ConstraintCase>([
    { name: 'one of the values', field: 'rack', value: 'r2,r3', agent: 'a3', code: 'schedulable' },
    { name: 'items are trimmed', field: 'rack', value: 'r3 , r2 ', agent: 'a3', code: 'schedulable' },
    { name: 'none of the values', field: 'rack', value: 'r2, r3', agent: 'a1', code: 'unresolvable', reason: 'constraint rack IN r2, r3' },
    { name: 'a single value', field: 'zone', value: 'z2', agent: 'a2', code: 'schedulable' },
    { name: 'no substring matching', field: 'zone', value: 'z10,z', agent: 'a1', code: 'unresolvable' },
    { name: 'agent without the attribute', field: 'rack', value: 'r1,r2', agent: 'bare', code: 'unresolvable', reason: 'no attribute rack' },
  ])('$name', (row) => {
    const status = constraintVerdict('IN', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
  });
});
