/**
 * The two kinds of placement plugin, after kube-scheduler's framework: a
 * Filter says whether an agent can take an instance at all, a Score says how
 * good a feasible agent is. Plugins are pure functions of their inputs.
 *
 * A filter runs in two steps, like kube-scheduler's PreFilter and Filter:
 *
 *   prepare(input) ─▶ AgentFilter        once per request in a pass
 *     │  everything that does not depend on the agent: the constraint's
 *     │  parsed value, its compiled regex, the app's live task counts by
 *     │  field value, the GROUP_BY minimum, the rejection to return
 *     ▼
 *   check(agent) ─▶ FilterStatus         for every agent the pass looks at
 *     │  must be cheap and must not allocate when it lets the agent through:
 *     │  it runs for many agents per placed instance
 *     ▼
 *   placed(agent)                        after each instance of the request
 *        lands (optional; the pass has already added the task to its counts,
 *        so the maps from PassContext.taskCounts are current). For plugins
 *        that keep derived state, such as GROUP_BY's histogram of counts.
 *
 * The PassContext is what one pass shares among plugins: counts per app
 * (the snapshot's live tasks plus this pass's placements), the values a
 * field takes across the cluster, and regexes compiled once per pass.
 *
 * `stickyRejections` tells the pass whether a "no" lasts for the rest of the
 * request. Within a request the pass only takes resources away and adds
 * tasks, so most rejections stick: an agent that is full, drained, lacks an
 * attribute, or already holds the app's UNIQUE task stays ruled out. The
 * pass sets such agents aside and does not look at them again for this
 * request. GROUP_BY's does not stick: a zone that is "ahead" becomes
 * acceptable again once the others catch up.
 */
import type { Constraint } from '@drover/common';
import type { PlacementRequest } from '../types.js';
import type { WorkingAgent } from '../working-agent.js';

/**
 * What a filter decided.
 * - schedulable: the agent can take the instance.
 * - unschedulable: not now (for example it is full, or already holds the
 *   app's UNIQUE task); may change as tasks end.
 * - unresolvable: waiting for tasks to end cannot help (for example the
 *   agent lacks a required attribute, or the request is larger than the
 *   whole agent); only an operator's change to the agent can.
 */
export type FilterStatus = { readonly code: 'schedulable' } | Rejected;

/** A filter's "no", with enough detail to explain it to an operator. */
export interface Rejected {
  readonly code: 'unschedulable' | 'unresolvable';
  /** Short reason shared by every agent rejected the same way: "insufficient mem". */
  readonly reason: string;
  /** For quantity shortfalls: what was needed and what this agent had, so the
   * explanation can say "need 512 MiB, most free 256 MiB". */
  readonly measure?: { readonly need: number; readonly have: number; readonly unit: string };
  /** For other reasons: a detail shown once, for example the constraint text. */
  readonly detail?: string;
}

/** What one pass shares with the plugins it prepares. */
export interface PassContext {
  /**
   * Live tasks of `appId` per value of `field`: the snapshot's plus this
   * pass's placements, updated as the pass places (values without tasks are
   * absent). Tasks on agents missing from the snapshot are not in it: their
   * field values are unknown.
   */
  taskCounts(appId: string, field: string): ReadonlyMap<string, number>;
  /** Every value `field` has on the snapshot's agents (draining ones included). */
  fieldValues(field: string): ReadonlySet<string>;
  /** The regex that full-matches `pattern` (`^(?:pattern)$`), compiled once per pass. */
  fullMatch(pattern: string): RegExp;
}

/** What a filter is prepared with. */
export interface FilterInput {
  /** The request being placed. */
  readonly request: PlacementRequest;
  /** The constraint this filter checks; constraint plugins only. */
  readonly constraint?: Constraint;
  /** The pass's shared state. */
  readonly pass: PassContext;
}

/** A filter prepared for one request (kube-scheduler's Filter with its PreFilter state). */
export interface AgentFilter {
  /** The verdict for one agent. */
  check(agent: WorkingAgent): FilterStatus;
  /** Called after an instance of the request was placed on `agent`. */
  placed?(agent: WorkingAgent): void;
}

/** Decides whether an agent can take an instance. */
export interface FilterPlugin {
  /** Registry name (constraint plugins are named by their operator). */
  readonly name: string;
  /** True when a rejection holds for the rest of the request (see the top of this file). */
  readonly stickyRejections: boolean;
  /** PreFilter: the filter for one request in one pass. */
  prepare(input: FilterInput): AgentFilter;
}

/** Ranks feasible agents: higher is better, in [0, 100]. */
export interface ScorePlugin {
  /** Registry name (also the PlacementStrategy that selects it). */
  readonly name: string;
  /**
   * Where the pass starts looking for its sample of feasible agents:
   * `tightest` walks from the agents with the least free room that still
   * fit (what packing wants), `random` from a seeded random position and
   * scattered over all load levels (what evening out load wants: the best
   * of a few random choices).
   */
  readonly sampleFrom: 'tightest' | 'random';
  /** The score of one feasible agent. */
  score(request: PlacementRequest, agent: WorkingAgent): number;
}

/** The verdict that lets an agent through. */
export const SCHEDULABLE: FilterStatus = Object.freeze({ code: 'schedulable' });
