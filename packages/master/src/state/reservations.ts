/**
 * Free resources of an agent: what it offers, minus what its live tasks
 * reserve, minus the host ports its machine reports in use (by any process:
 * a task given such a port would fail with EADDRINUSE). The orchestrator's
 * snapshot and the plan applier's re-check both start from here, so a port
 * in use is kept out of plans and refused again when a plan is committed.
 * A port both held by a task and reported in use (the task listening on it)
 * is removed once, not counted twice.
 */
import { type PortRange, removePorts, removeRanges, type ScalarResources, subtract } from '@drover/common';
import type { AgentReservation } from './agent-ledger.js';
import type { AgentRecord } from '../model/records.js';

/** Free scalars and free port ranges of `agent`, given its reservations and the ports in use on its machine. */
export function freeOf(
  agent: AgentRecord,
  reservation: AgentReservation,
  inUse: readonly PortRange[] = [],
): { free: ScalarResources; freePorts: PortRange[] } {
  const unreserved = reservation.ports.size === 0 ? [...agent.ports] : removePorts(agent.ports, reservation.ports.keys());
  return {
    free: subtract(agent.total, reservation.used),
    freePorts: inUse.length === 0 ? unreserved : removeRanges(unreserved, inUse),
  };
}

/** The ports in use on an agent's machine that none of its live tasks holds: other processes' ports. */
export function foreignPorts(reservation: AgentReservation, inUse: readonly PortRange[]): PortRange[] {
  return reservation.ports.size === 0 ? inUse.map((r) => ({ ...r })) : removePorts(inUse, reservation.ports.keys());
}
