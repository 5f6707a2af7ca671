import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField, requiredValue } from './constrained-field.js';

/** UNLIKE: the field must not full-match the regex `value`; agents without the attribute pass. */
export const unlike = {
  name: 'UNLIKE',
  // Attributes do not change during a pass.
  stickyRejections: true,
  prepare(input) {
    const c = constrainedField(input);
    const regex = input.pass.fullMatch(requiredValue(c.constraint));
    const match = c.rejection('unresolvable');
    // Fields such as rack or zone take few values: test each once.
    const verdicts = new Map<string, boolean>();
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return SCHEDULABLE;
        let matches = verdicts.get(value);
        if (matches === undefined) verdicts.set(value, (matches = regex.test(value)));
        return matches ? match : SCHEDULABLE;
      },
    };
  },
} satisfies FilterPlugin;
