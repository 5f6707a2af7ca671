import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField } from './constrained-field.js';

/**
 * CLUSTER: every task of the app on one value of the field. With a value,
 * that value. Without one, the value the app's tasks already run on; an app
 * with no task yet may start anywhere, and its first placement fixes the
 * value for the rest of the pass (the pass's counts include it). If the
 * app's tasks already span several values no agent qualifies, as in
 * Marathon, which requires every task to share the agent's value.
 */
export const cluster = {
  name: 'CLUSTER',
  // With a value the verdict never changes; without one the set of values
  // the app runs on only grows, so a rejected agent stays rejected.
  stickyRejections: true,
  prepare(input) {
    const c = constrainedField(input);
    const wanted = c.constraint.value;
    if (wanted !== undefined && wanted !== '') {
      const elsewhere = c.rejection('unresolvable');
      return {
        check(agent) {
          const value = c.valueOn(agent);
          if (value === undefined) return c.missing;
          return value === wanted ? SCHEDULABLE : elsewhere;
        },
      };
    }
    const counts = input.pass.taskCounts(input.request.appId, c.constraint.field);
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return c.missing;
        if (counts.size === 0 || (counts.size === 1 && counts.has(value))) return SCHEDULABLE;
        return c.rejection('unschedulable', `tasks run on ${[...counts.keys()].join(', ')}`);
      },
    };
  },
} satisfies FilterPlugin;
