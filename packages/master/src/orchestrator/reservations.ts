/** Free resources of an agent given what its live tasks reserve. */
import { type PortRange, removePorts, type ScalarResources, subtract } from '@drover/common';
import type { AgentReservation } from '../state/agent-ledger.js';
import type { AgentRecord } from '../state/records.js';

/** Free scalars and free port ranges of `agent`. */
export function freeOf(agent: AgentRecord, reservation: AgentReservation): { free: ScalarResources; freePorts: PortRange[] } {
  return {
    free: subtract(agent.total, reservation.used),
    freePorts: reservation.ports.size === 0 ? [...agent.ports] : removePorts(agent.ports, reservation.ports.keys()),
  };
}
