/**
 * An agent's free resources while one scheduling pass runs. The snapshot is
 * immutable; the pass places several instances and must see its own earlier
 * placements, so it works on these copies.
 */
import { type PortRange, removePorts, type ScalarResources, subtract } from '@drover/common';
import type { AgentSnapshot } from './types.js';

/** An agent plus what this pass has already reserved on it. */
export interface WorkingAgent {
  /** The agent as snapshotted. */
  readonly snapshot: AgentSnapshot;
  /** Free resources after this pass's placements. */
  free: ScalarResources;
  /** Free ports after this pass's placements. */
  freePorts: PortRange[];
}

/** A working copy of one agent. */
export function workingAgent(snapshot: AgentSnapshot): WorkingAgent {
  return { snapshot, free: snapshot.free, freePorts: [...snapshot.freePorts] };
}

/** Records a placement on the working copy. */
export function reserve(agent: WorkingAgent, resources: ScalarResources, ports: readonly number[]): void {
  agent.free = subtract(agent.free, resources);
  if (ports.length > 0) agent.freePorts = removePorts(agent.freePorts, ports);
}
