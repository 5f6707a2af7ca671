/**
 * Runs one filter plugin the way a pass does (prepare, then check), for
 * table-driven plugin tests.
 */
import { Code, type Constraint, DroverError } from '@drover/common';
import { PassState } from '../pass-state.js';
import { filterPlugin } from '../plugins/registry.js';
import type { AgentFilter, FilterStatus } from '../plugins/plugin.js';
import { seededRandom } from '../random.js';
import type { PlacementRequest, Snapshot } from '../types.js';
import type { WorkingAgent } from '../working-agent.js';

/** A filter prepared for `request` (with `constraint`, for constraint plugins) in a fresh pass over `snap`. */
export function preparedFilter(
  name: string,
  snap: Snapshot,
  request: PlacementRequest,
  constraint?: Constraint,
): { filter: AgentFilter; pass: PassState; check(agentId: string): FilterStatus; agent(agentId: string): WorkingAgent } {
  const pass = new PassState(snap, seededRandom(1));
  const filter = filterPlugin(name).prepare(constraint ? { request, constraint, pass } : { request, pass });
  const agent = (agentId: string): WorkingAgent => {
    const found = pass.agents.find((a) => a.snapshot.id === agentId);
    if (!found) throw new DroverError(`no agent ${agentId} in the snapshot`, Code.NotFound);
    return found;
  };
  return { filter, pass, agent, check: (agentId) => filter.check(agent(agentId)) };
}
