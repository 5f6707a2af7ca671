import { describe, expect, it } from 'vitest';
import { agent, request, snapshot } from '../testing/builders.js';
import { preparedFilter } from '../testing/filter-harness.js';

describe('draining', () => {
  it.each([
    { name: 'active agent', draining: false, code: 'schedulable' },
    { name: 'draining agent', draining: true, code: 'unresolvable', reason: 'draining' },
  ])('$name', ({ draining, code, reason }) => {
    const status = preparedFilter('draining', snapshot([agent('a', { draining })]), request('/web', 1)).check('a');
    expect(status.code).toBe(code);
    if (reason) expect(status).toMatchObject({ reason });
  });
});
