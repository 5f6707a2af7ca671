/**
 * An agent's free resources while one scheduling pass runs. The snapshot is
 * immutable; the pass places several instances and must see its own earlier
 * placements, so it works on these copies. Copies are cheap on purpose (no
 * port list is copied until a placement changes it): a pass makes one per
 * agent, and the master runs a pass per app.
 */
import { countPorts, type PortRange, removePorts, type ScalarResources, subtract } from '@drover/common';
import type { AgentSnapshot } from './types.js';

/** An agent plus what this pass has already reserved on it. */
export interface WorkingAgent {
  /** The agent as snapshotted. */
  readonly snapshot: AgentSnapshot;
  /** Position in the pass's agent list, so per-pass tables can be plain arrays. */
  readonly ordinal: number;
  /** Free resources after this pass's placements. */
  free: ScalarResources;
  /** Free ports after this pass's placements. */
  freePorts: readonly PortRange[];
  /** countPorts(freePorts), or -1 until first asked for (see freePortCount). */
  portCount: number;
}

/** A working copy of one agent. */
export function workingAgent(snapshot: AgentSnapshot, ordinal = 0): WorkingAgent {
  return { snapshot, ordinal, free: snapshot.free, freePorts: snapshot.freePorts, portCount: -1 };
}

/** How many ports the agent has free; counted once, then kept up to date by reserve. */
export function freePortCount(agent: WorkingAgent): number {
  if (agent.portCount < 0) agent.portCount = countPorts(agent.freePorts);
  return agent.portCount;
}

/** Records a placement on the working copy. */
export function reserve(agent: WorkingAgent, resources: ScalarResources, ports: readonly number[]): void {
  agent.free = subtract(agent.free, resources);
  if (ports.length > 0) {
    agent.freePorts = removePorts(agent.freePorts, ports);
    agent.portCount = -1;
  }
}
