/**
 * schedule(snapshot, requests) -> Plan: the whole scheduler.
 *
 * Pure: no I/O, no clock, and randomness only from a seed, so the same
 * inputs always give the same plan (tests pin outcomes with `seed`). It may
 * be handed a stale snapshot; the master's plan applier re-checks every
 * placement against live state before committing it, so a stale plan can
 * never overcommit an agent.
 *
 * One pass, for each request in order and each of its instances:
 *
 *  1. Walk the free-resource index (free-index.ts). Agents whose free cpus
 *     or mem cannot fit the instance are in cells the walk never enters;
 *     draining agents are not indexed at all. Binpack walks from the
 *     tightest cells (the busiest agents that still fit), spread from a
 *     seeded random position.
 *  2. Run every filter (draining, resources, ports, then the request's
 *     constraints) on each agent the walk yields, and stop as soon as
 *     `sampleSize` agents have passed. Score those and take the best. The
 *     sample bounds the work per instance however large the cluster is;
 *     the walk carries on past rejected agents, so an instance that can be
 *     placed anywhere is placed.
 *  3. Reserve the instance on the agent's working copy, move the agent in
 *     the index, and count the task for its app, so the rest of the pass
 *     sees it (UNIQUE, MAX_PER, GROUP_BY and CLUSTER count pass placements).
 *
 * Agents a filter rejects for good (full, no such attribute, already
 * holding the app's UNIQUE task...) leave the index until the request is
 * done, so each is looked at about once per request rather than once per
 * instance. When the walk finds no agent at all, one full scan of every
 * agent produces the exact explanation ("3 agents: insufficient mem (...);
 * 2 agents: constraint hostname UNIQUE"), and the request's remaining
 * instances are reported unplaced together: nothing changes between them.
 * Failures pay for a full scan; successes never do.
 */
import { Code, DroverError } from '@drover/common';
import { PassState } from './pass-state.js';
import { placeRequest } from './place-request.js';
import { seededRandom } from './random.js';
import type { Placement, PlacementRequest, Plan, Snapshot, Unplaced } from './types.js';

/**
 * Feasible agents scored per instance when the caller does not say. Best of
 * a few is nearly as good as best of all: with random candidates two
 * choices already even out load exponentially better than one (the "power
 * of two choices"), and a few more mostly guard against unlucky draws;
 * binpack's candidates come from the tightest cells, so the first few are
 * already the busiest. Nomad scores 2 nodes for batch jobs and
 * max(2, ceil(log2 n)) for services (10 at 1,000 nodes, 14 at 10,000);
 * kube-scheduler stops filtering once a percentage of the nodes (at least
 * 100) passed, but its per-node cost is far higher than ours. A constant
 * keeps the cost of a placement flat as the cluster grows.
 */
export const DEFAULT_SAMPLE_SIZE = 8;

/** Knobs of one pass. */
export interface ScheduleOptions {
  /** Seed for tie-breaking, spread's sampling and port choice; default 1. */
  seed?: number;
  /** Feasible agents scored per instance; default DEFAULT_SAMPLE_SIZE. */
  sampleSize?: number;
}

/** Places as many instances as fit; explains the rest. */
export function schedule(snapshot: Snapshot, requests: readonly PlacementRequest[], options: ScheduleOptions = {}): Plan {
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
  if (!Number.isInteger(sampleSize) || sampleSize < 1) {
    throw new DroverError(`sampleSize must be a whole number >= 1, got ${sampleSize}`, Code.InvalidArgument);
  }
  const random = seededRandom(options.seed ?? 1);
  const pass = new PassState(snapshot, random);
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const request of requests) {
    const outcome = placeRequest(pass, request, sampleSize, random);
    for (const p of outcome.placements) placements.push(p);
    if (outcome.unplaced) unplaced.push(outcome.unplaced);
  }
  return { placements, unplaced };
}
