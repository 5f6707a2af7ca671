import { describe, expect, it } from 'vitest';
import { type ConstraintCase, constraintVerdict } from '../../testing/constraint-cluster.js';

describe('UNLIKE', () => {
  it.each<ConstraintCase>([
    { name: 'matching value is refused', field: 'zone', value: 'z1', agent: 'a1', code: 'unresolvable', reason: 'constraint zone UNLIKE z1' },
    { name: 'other value passes', field: 'zone', value: 'z1', agent: 'a2', code: 'schedulable' },
    { name: 'partial match does not count', field: 'zone', value: 'z', agent: 'a1', code: 'schedulable' },
    { name: 'hostname regex', field: 'hostname', value: 'a.*', agent: 'a3', code: 'unresolvable' },
    { name: 'agent without the attribute passes (the only operator that accepts it)', field: 'zone', value: '.*', agent: 'bare', code: 'schedulable' },
  ])('$name', (row) => {
    const status = constraintVerdict('UNLIKE', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
  });
});
