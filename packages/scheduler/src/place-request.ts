/**
 * Placing the instances of one request within a pass (the mechanism is
 * described at the top of schedule.ts).
 */
import { Code, DroverError } from '@drover/common';
import { ExplanationBuilder, noAgentsExplanation } from './explain.js';
import type { WalkOrder } from './free-index.js';
import type { PassState } from './pass-state.js';
import type { AgentFilter, Rejected, ScorePlugin } from './plugins/plugin.js';
import { DEFAULT_FILTERS, filterPlugin, scorePlugin } from './plugins/registry.js';
import { assignPorts } from './ports/port-assigner.js';
import type { Random } from './random.js';
import type { Explanation, Placement, PlacementRequest, Unplaced } from './types.js';
import type { WorkingAgent } from './working-agent.js';

const TIGHTEST: WalkOrder = Object.freeze({ kind: 'tightest' });

/** A filter prepared for the request, with whether its rejections stick. */
interface PreparedFilter {
  readonly filter: AgentFilter;
  readonly sticky: boolean;
}

/** What placing one request added to the plan. */
export interface RequestOutcome {
  /** One per placed instance, in order. */
  readonly placements: Placement[];
  /** The instances that found no agent, if any. */
  readonly unplaced?: Unplaced;
}

/** Places the request's instances one by one; explains the first that fails (the rest fail the same way). */
export function placeRequest(pass: PassState, request: PlacementRequest, sampleSize: number, random: Random): RequestOutcome {
  if (!Number.isInteger(request.count) || request.count < 0) {
    throw new DroverError(`request ${request.key}: count must be a whole number >= 0, got ${request.count}`, Code.InvalidArgument);
  }
  const placements: Placement[] = [];
  if (request.count === 0) return { placements };
  const filters = prepareFilters(pass, request);
  const scorer = scorePlugin(request.strategy);
  // Agents a sticky filter rejected are out of the index until this request
  // is done: they cannot become feasible for it, so no walk should see them.
  const parked: WorkingAgent[] = [];
  try {
    for (let placed = 0; placed < request.count; placed++) {
      const agent = bestOfSample(pass, request, filters, scorer, sampleSize, random, parked);
      if (!agent) {
        const explanation = explainByFullScan(pass, request, filters);
        return { placements, unplaced: { key: request.key, appId: request.appId, count: request.count - placed, explanation } };
      }
      const hostPorts = assignPorts(agent.freePorts, request.ports, random);
      if (!hostPorts) {
        throw new DroverError(`ports-fit passed agent ${agent.snapshot.id} but its ports cannot be assigned`, Code.Internal);
      }
      pass.place(agent, request.appId, request.resources, hostPorts);
      for (const f of filters) f.filter.placed?.(agent);
      placements.push({ key: request.key, agentId: agent.snapshot.id, hostPorts });
    }
    return { placements };
  } finally {
    for (const agent of parked) pass.index.add(agent);
  }
}

function prepareFilters(pass: PassState, request: PlacementRequest): PreparedFilter[] {
  const prepared: PreparedFilter[] = DEFAULT_FILTERS.map((name) => {
    const plugin = filterPlugin(name);
    return { filter: plugin.prepare({ request, pass }), sticky: plugin.stickyRejections };
  });
  for (const constraint of request.constraints) {
    const plugin = filterPlugin(constraint.operator);
    prepared.push({ filter: plugin.prepare({ request, constraint, pass }), sticky: plugin.stickyRejections });
  }
  return prepared;
}

/**
 * Walks the index from where the strategy says, runs every filter on each
 * agent visited, and returns the best-scoring of the first `sampleSize`
 * agents that pass (undefined when none does). The walk goes on past
 * rejected agents until the sample is full or the index is exhausted, so
 * an instance is only ever unplaced when no indexed agent can take it.
 */
function bestOfSample(
  pass: PassState,
  request: PlacementRequest,
  filters: readonly PreparedFilter[],
  scorer: ScorePlugin,
  sampleSize: number,
  random: Random,
  parked: WorkingAgent[],
): WorkingAgent | undefined {
  const agents = pass.agents;
  const firstParked = parked.length;
  let best: WorkingAgent | undefined;
  let bestScore = -Infinity;
  let feasible = 0;
  const order: WalkOrder = scorer.sampleFrom === 'tightest' ? TIGHTEST : { kind: 'scattered', start: random() };
  pass.index.walk(request.resources, order, (ordinal) => {
    const agent = agents[ordinal] as WorkingAgent;
    for (const f of filters) {
      if (f.filter.check(agent).code !== 'schedulable') {
        if (f.sticky) parked.push(agent);
        return true;
      }
    }
    const score = scorer.score(request, agent);
    if (score > bestScore) {
      best = agent;
      bestScore = score;
    }
    return ++feasible < sampleSize;
  });
  // After the walk: the index must not change while it is walked.
  for (let i = firstParked; i < parked.length; i++) pass.index.remove(parked[i] as WorkingAgent);
  return best;
}

/**
 * The exact explanation for an instance no agent can take: every agent of
 * the snapshot through the filters, counting the first rejection of each.
 * Runs once per failed request, so its cost (a visit of every agent) is
 * paid only when something is really unplaceable.
 */
function explainByFullScan(pass: PassState, request: PlacementRequest, filters: readonly PreparedFilter[]): Explanation {
  if (pass.agents.length === 0) return noAgentsExplanation();
  const why = new ExplanationBuilder();
  for (const agent of pass.agents) {
    let rejection: Rejected | undefined;
    for (const f of filters) {
      const status = f.filter.check(agent);
      if (status.code !== 'schedulable') {
        rejection = status;
        break;
      }
    }
    if (!rejection) {
      throw new DroverError(`request ${request.key}: agent ${agent.snapshot.id} fits but the free-resource index did not offer it`, Code.Internal);
    }
    why.reject(rejection);
  }
  return why.build();
}
