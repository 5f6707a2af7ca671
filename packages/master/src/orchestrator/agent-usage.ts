/**
 * What live tasks reserve on an agent. Computed from the task records, never
 * stored, so it cannot drift from them.
 */
import { type PortRange, removePorts, type ScalarResources, subtract, sum, ZERO } from '@drover/common';
import type { ClusterState } from '../state/cluster-state.js';
import type { AgentRecord, TaskRecord } from '../state/records.js';

/** Resources and ports held on one agent. */
export interface AgentReservation {
  readonly used: ScalarResources;
  readonly usedPorts: readonly number[];
  readonly free: ScalarResources;
  readonly freePorts: readonly PortRange[];
  readonly liveTasks: number;
}

/** Sums the live tasks on an agent (extra: tasks not yet in state, e.g. this batch's). */
export function reservationOf(state: ClusterState, agent: AgentRecord, extra: readonly TaskRecord[] = []): AgentReservation {
  const tasks = [...state.liveTasksOnAgent(agent.id), ...extra];
  const used = tasks.length === 0 ? ZERO : sum(tasks.map((t) => t.resources));
  const usedPorts = tasks.flatMap((t) => t.ports.map((p) => p.number));
  return {
    used,
    usedPorts,
    free: subtract(agent.total, used),
    freePorts: removePorts(agent.ports, usedPorts),
    liveTasks: tasks.length,
  };
}
