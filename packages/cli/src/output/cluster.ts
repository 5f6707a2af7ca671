/** How `drover cluster info` looks. */
import type { ClusterInfo } from '@drover/client';
import { formatDetails } from './details.js';
import { formatAge } from './time.js';

/** Cluster facts as a details block; `address` is the master that answered. */
export function formatClusterInfo(info: ClusterInfo, address: string): string {
  return formatDetails([
    ['Master', address],
    ['Version', info.version || '-'],
    ['Leader', info.leader ? `${info.leader}${info.isLeader ? ' (this master)' : ''}` : 'none'],
    ['Epoch', String(info.epoch)],
    ['Store', info.store || '-'],
    ['Started', info.startedAt?.toISOString()],
    ['Uptime', formatAge(info.uptimeSeconds * 1000)],
    ['Agents active', String(info.agentsActive)],
    ['Apps', String(info.apps)],
    ['Live tasks', String(info.tasksLive)],
  ]);
}
