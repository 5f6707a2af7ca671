import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField } from './constrained-field.js';

/** UNIQUE: no two tasks of the app on the same value of the field (hostname: one per host). */
export const unique = {
  name: 'UNIQUE',
  // Counts only grow within a pass.
  stickyRejections: true,
  prepare(input) {
    const c = constrainedField(input);
    const counts = input.pass.taskCounts(input.request.appId, c.constraint.field);
    const taken = c.rejection('unschedulable');
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return c.missing;
        return counts.has(value) ? taken : SCHEDULABLE;
      },
    };
  },
} satisfies FilterPlugin;
