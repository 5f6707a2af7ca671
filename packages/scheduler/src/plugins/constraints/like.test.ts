import { describe, expect, it } from 'vitest';
import { type ConstraintCase, constraintVerdict } from '../../testing/constraint-cluster.js';

describe('LIKE', () => {
  it.each<ConstraintCase>([
    { name: 'alternation matches', field: 'zone', value: 'z1|z3', agent: 'a1', code: 'schedulable' },
    { name: 'alternation does not match', field: 'zone', value: 'z1|z3', agent: 'a2', code: 'unresolvable', reason: 'constraint zone LIKE z1|z3' },
    { name: 'must match the whole value, not a prefix', field: 'zone', value: 'z', agent: 'a1', code: 'unresolvable', reason: 'constraint zone LIKE z' },
    { name: 'anchors wrap the whole alternation', field: 'rack', value: 'x|r', agent: 'a1', code: 'unresolvable' },
    { name: 'hostname regex', field: 'hostname', value: 'a[12]\\.example', agent: 'a2', code: 'schedulable' },
    { name: 'hostname regex, other host', field: 'hostname', value: 'a[12]\\.example', agent: 'a3', code: 'unresolvable' },
    { name: 'agent without the attribute', field: 'zone', value: '.*', agent: 'bare', code: 'unresolvable', reason: 'no attribute zone' },
  ])('$name', (row) => {
    const status = constraintVerdict('LIKE', row);
    expect(status.code).toBe(row.code);
    if (row.reason) expect(status).toMatchObject({ reason: row.reason });
  });
});
