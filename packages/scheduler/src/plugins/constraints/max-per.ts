import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField, positiveInteger } from './constrained-field.js';

/** MAX_PER: at most `value` tasks of the app per value of the field. */
export const maxPer = {
  name: 'MAX_PER',
  // Counts only grow within a pass.
  stickyRejections: true,
  prepare(input) {
    const c = constrainedField(input);
    const limit = positiveInteger(c.constraint);
    const counts = input.pass.taskCounts(input.request.appId, c.constraint.field);
    const full = c.rejection('unschedulable');
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return c.missing;
        return (counts.get(value) ?? 0) < limit ? SCHEDULABLE : full;
      },
    };
  },
} satisfies FilterPlugin;
