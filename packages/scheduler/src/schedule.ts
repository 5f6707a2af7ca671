/**
 * schedule(snapshot, requests) -> Plan: the whole scheduler.
 *
 * Pure: no I/O, no clock, and randomness only from a seed, so the same
 * inputs always give the same plan (tests pin outcomes with `seed`). It may
 * be handed a stale snapshot; the master's plan applier re-checks every
 * placement against live state before committing it, so a stale plan can
 * never overcommit an agent.
 *
 * One pass: for each request in order, run the filters on every agent
 * (first rejection wins and is tallied for the explanation), score the
 * agents that pass, take the best, and reserve its resources on a working
 * copy so later requests in the same pass see them as used.
 */
import { ExplanationBuilder, noAgentsExplanation } from './explain.js';
import type { FilterPlugin, ScorePlugin } from './plugins/plugin.js';
import { DEFAULT_FILTERS, DEFAULT_SCORE, filterPlugin, scorePlugin } from './plugins/registry.js';
import { assignPorts } from './ports/port-assigner.js';
import { seededRandom } from './random.js';
import type { Explanation, Placement, PlacementRequest, Plan, Snapshot, Unplaced } from './types.js';
import { reserve, type WorkingAgent, workingAgent } from './working-agent.js';

/** Knobs of one pass. */
export interface ScheduleOptions {
  /** Seed for port choice and tie-breaking; default 1. */
  seed?: number;
  /** Filter plugin names, in order; default resources-fit, ports-fit. */
  filters?: readonly string[];
  /** Score plugin name; default binpack. */
  score?: string;
}

/** Places as many requests as fit; explains the rest. */
export function schedule(snapshot: Snapshot, requests: readonly PlacementRequest[], options: ScheduleOptions = {}): Plan {
  const random = seededRandom(options.seed ?? 1);
  const filters = (options.filters ?? DEFAULT_FILTERS).map(filterPlugin);
  const scorer = scorePlugin(options.score ?? DEFAULT_SCORE);
  const agents = snapshot.agents.map(workingAgent);
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  // Requests of one app are identical, and a pass only ever takes resources
  // away, so once one instance of an app fails the rest fail the same way.
  const failedApps = new Map<string, Explanation>();

  for (const request of requests) {
    const known = failedApps.get(request.appId);
    if (known) {
      unplaced.push({ key: request.key, appId: request.appId, explanation: known });
      continue;
    }
    const choice = bestAgent(request, agents, filters, scorer);
    const hostPorts = choice.agent ? assignPorts(choice.agent.freePorts, request.ports, random) : undefined;
    if (!choice.agent || !hostPorts) {
      failedApps.set(request.appId, choice.explanation);
      unplaced.push({ key: request.key, appId: request.appId, explanation: choice.explanation });
      continue;
    }
    reserve(choice.agent, request.resources, hostPorts);
    placements.push({ key: request.key, agentId: choice.agent.snapshot.id, hostPorts });
  }
  return { placements, unplaced };
}

function bestAgent(
  request: PlacementRequest,
  agents: readonly WorkingAgent[],
  filters: readonly FilterPlugin[],
  scorer: ScorePlugin,
): { agent?: WorkingAgent; explanation: Explanation } {
  if (agents.length === 0) return { explanation: noAgentsExplanation() };
  const why = new ExplanationBuilder();
  let best: WorkingAgent | undefined;
  let bestScore = -Infinity;
  for (const agent of agents) {
    let rejected = false;
    for (const f of filters) {
      const status = f.filter(request, agent);
      if (status.code !== 'schedulable') {
        why.reject(status);
        rejected = true;
        break;
      }
    }
    if (rejected) continue;
    const score = scorer.score(request, agent);
    if (score > bestScore) {
      best = agent;
      bestScore = score;
    }
  }
  return best ? { agent: best, explanation: why.build() } : { explanation: why.build() };
}
