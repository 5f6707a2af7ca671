import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField, requiredValue } from './constrained-field.js';

/** IS: the field equals `value` exactly. */
export const is = {
  name: 'IS',
  // Attributes do not change during a pass.
  stickyRejections: true,
  prepare(input) {
    const c = constrainedField(input);
    const wanted = requiredValue(c.constraint);
    const other = c.rejection('unresolvable');
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return c.missing;
        return value === wanted ? SCHEDULABLE : other;
      },
    };
  },
} satisfies FilterPlugin;
