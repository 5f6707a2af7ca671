import type { ScalarResources } from '@drover/common';
import type { WorkingAgent } from '../working-agent.js';

/**
 * The agent's dominant resource share (0..1) once `need` is placed on it:
 * the largest fraction of any resource it offers that would be in use.
 * Both strategies rank by it. Written out rather than built from add() and
 * dominantShare(): it runs for every sampled agent and must not allocate.
 */
export function dominantShareAfter(need: ScalarResources, agent: WorkingAgent): number {
  const total = agent.snapshot.total;
  const free = agent.free;
  let share = 0;
  if (total.cpus > 0) share = Math.max(share, (total.cpus - free.cpus + need.cpus) / total.cpus);
  if (total.mem > 0) share = Math.max(share, (total.mem - free.mem + need.mem) / total.mem);
  if (total.disk > 0) share = Math.max(share, (total.disk - free.disk + need.disk) / total.disk);
  if (total.gpus > 0) share = Math.max(share, (total.gpus - free.gpus + need.gpus) / total.gpus);
  return share;
}
