import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField, requiredValue } from './constrained-field.js';

/** LIKE: the field must full-match the regex `value`. */
export const like = {
  name: 'LIKE',
  // Attributes do not change during a pass.
  stickyRejections: true,
  prepare(input) {
    const c = constrainedField(input);
    const regex = input.pass.fullMatch(requiredValue(c.constraint));
    const mismatch = c.rejection('unresolvable');
    // Fields such as rack or zone take few values: test each once.
    const verdicts = new Map<string, boolean>();
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return c.missing;
        let ok = verdicts.get(value);
        if (ok === undefined) verdicts.set(value, (ok = regex.test(value)));
        return ok ? SCHEDULABLE : mismatch;
      },
    };
  },
} satisfies FilterPlugin;
