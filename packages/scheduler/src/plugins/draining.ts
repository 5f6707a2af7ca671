import { type FilterPlugin, type FilterStatus, SCHEDULABLE } from './plugin.js';

// Waiting for tasks to end does not help; only the operator's undrain does.
const DRAINING: FilterStatus = Object.freeze({ code: 'unresolvable', reason: 'draining' });

/** Rules out agents an operator is draining: they keep their tasks but take no new ones. */
export const draining = {
  name: 'draining',
  stickyRejections: true,
  prepare: () => ({ check: (agent) => (agent.snapshot.draining ? DRAINING : SCHEDULABLE) }),
} satisfies FilterPlugin;
