import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField, requiredValue } from './constrained-field.js';

/** IN: the field equals one of the comma-separated values (items trimmed). Drover's addition to Marathon's set. */
export const inList = {
  name: 'IN',
  // Attributes do not change during a pass.
  stickyRejections: true,
  prepare(input) {
    const c = constrainedField(input);
    const allowed = new Set(requiredValue(c.constraint).split(',').map((v) => v.trim()));
    const other = c.rejection('unresolvable');
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return c.missing;
        return allowed.has(value) ? SCHEDULABLE : other;
      },
    };
  },
} satisfies FilterPlugin;
