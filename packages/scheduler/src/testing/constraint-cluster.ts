/**
 * The small cluster the constraint plugin tests share:
 *
 *   agent  hostname     rack  zone
 *   a1     a1.example   r1    z1
 *   a2     a2.example   r1    z2
 *   a3     a3.example   r2    z1
 *   bare   bare.example  -     -     (no attributes)
 *
 * `placed` gives the app "/web"'s live tasks per agent id (ids not in the
 * table stand for agents the snapshot does not include).
 */
import type { ConstraintOperatorName } from '@drover/common';
import type { FilterStatus } from '../plugins/plugin.js';
import type { Snapshot } from '../types.js';
import { agent, constraint, request, snapshot } from './builders.js';
import { preparedFilter } from './filter-harness.js';

/** The cluster with `/web` running as `placed` says. */
export function constraintCluster(placed: Record<string, number> = {}): Snapshot {
  return snapshot(
    [
      agent('a1', { attributes: { rack: 'r1', zone: 'z1' } }),
      agent('a2', { attributes: { rack: 'r1', zone: 'z2' } }),
      agent('a3', { attributes: { rack: 'r2', zone: 'z1' } }),
      agent('bare'),
    ],
    { '/web': placed },
  );
}

/** One row of a constraint plugin's table. */
export interface ConstraintCase {
  /** What the row shows. */
  readonly name: string;
  /** Constraint field. */
  readonly field: string;
  /** Constraint value, if any. */
  readonly value?: string;
  /** `/web`'s live tasks per agent id; default none. */
  readonly placed?: Record<string, number>;
  /** The agent checked. */
  readonly agent: 'a1' | 'a2' | 'a3' | 'bare';
  /** Expected status code. */
  readonly code: FilterStatus['code'];
  /** Expected reason, for rejections. */
  readonly reason?: string;
}

/** The verdict of `operator` on the row's agent, as a pass would give it. */
export function constraintVerdict(operator: ConstraintOperatorName, row: ConstraintCase): FilterStatus {
  const snap = constraintCluster(row.placed);
  return preparedFilter(operator, snap, request('/web', 1), constraint(row.field, operator, row.value)).check(row.agent);
}
