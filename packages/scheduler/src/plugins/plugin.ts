/**
 * The two kinds of placement plugin, after kube-scheduler's framework:
 * a Filter says whether an agent can take an instance at all, a Score says
 * how good a feasible agent is. Plugins are pure functions of their inputs.
 */
import type { PlacementRequest } from '../types.js';
import type { WorkingAgent } from '../working-agent.js';

/**
 * What a filter decided.
 * - schedulable: the agent can take the instance.
 * - unschedulable: not now (for example it is full); may change as tasks end.
 * - unresolvable: never, whatever happens to other tasks (for example it
 *   lacks a required attribute); callers can stop retrying that agent.
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

/** Decides whether an agent can take an instance. */
export interface FilterPlugin {
  /** Registry name. */
  readonly name: string;
  /** The verdict for one agent. */
  filter(request: PlacementRequest, agent: WorkingAgent): FilterStatus;
}

/** Ranks feasible agents: higher is better, in [0, 100]. */
export interface ScorePlugin {
  /** Registry name. */
  readonly name: string;
  /** The score of one feasible agent. */
  score(request: PlacementRequest, agent: WorkingAgent): number;
}

/** The verdict that lets an agent through. */
export const SCHEDULABLE: FilterStatus = Object.freeze({ code: 'schedulable' });
