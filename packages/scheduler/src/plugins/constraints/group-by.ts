import { type FilterPlugin, SCHEDULABLE } from '../plugin.js';
import { constrainedField, positiveInteger } from './constrained-field.js';

/**
 * GROUP_BY: spread the app evenly over the field's values. An agent is
 * acceptable only when its value has the fewest tasks among the values
 * known: those on the snapshot's agents (which include every value the
 * app's counted tasks run on). With a value N, groups missing from the
 * cluster (fewer than N values known) count as holding 0 tasks, so the app
 * does not pile onto the groups that happen to exist.
 *
 * The minimum is kept as a histogram (task count -> number of values with
 * that count) updated after each placement, so a check is one lookup even
 * when the field is the hostname and there are thousands of values.
 */
export const groupBy = {
  name: 'GROUP_BY',
  // A value that is ahead becomes acceptable again once the others catch up.
  stickyRejections: false,
  prepare(input) {
    const c = constrainedField(input);
    const counts = input.pass.taskCounts(input.request.appId, c.constraint.field);
    const known = input.pass.fieldValues(c.constraint.field);
    const expected = c.constraint.value === undefined || c.constraint.value === '' ? 0 : positiveInteger(c.constraint);
    const histogram = new Map<number, number>();
    const bump = (count: number, by: number) => histogram.set(count, (histogram.get(count) ?? 0) + by);
    for (const value of known) bump(counts.get(value) ?? 0, 1);
    if (known.size < expected) bump(0, expected - known.size);
    let min = histogram.size === 0 ? 0 : Math.min(...histogram.keys());
    const ahead = c.rejection('unschedulable');
    return {
      check(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return c.missing;
        return (counts.get(value) ?? 0) === min ? SCHEDULABLE : ahead;
      },
      placed(agent) {
        const value = c.valueOn(agent);
        if (value === undefined) return;
        // The pass counted the task already: the value moved from n-1 to n.
        const n = counts.get(value) ?? 0;
        bump(n - 1, -1);
        bump(n, 1);
        if (n - 1 === min && histogram.get(min) === 0) min = n;
      },
    };
  },
} satisfies FilterPlugin;
