/** How `drover cluster info` looks. */
import type { ClusterInfo } from '@drover/client';
import { formatDetails } from './details.js';
import { formatTable } from './table.js';
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

/**
 * `drover cluster status`: who leads, then every master with its role and
 * epoch (the leader first), as the master at `address` knows them.
 */
export function formatClusterStatus(info: ClusterInfo, address: string): string {
  const head = formatDetails([
    ['Leader', info.leader ? `${info.leader}${info.leaderHttp ? ` (HTTP ${info.leaderHttp})` : ''}` : 'none known (an election may be under way)'],
    ['Epoch', info.leader ? String(info.epoch) : '-'],
    ['Answered by', `${address}${info.isLeader ? ' (the leader)' : ' (a standby)'}`],
  ]);
  const masters = info.masters.length > 0 ? info.masters : [{ grpcAddress: address, httpAddress: '', role: info.isLeader ? 'leader' : 'standby', epoch: info.epoch }];
  const table = formatTable(
    ['master', 'http', 'role', 'epoch'],
    masters.map((m) => [m.grpcAddress || '-', m.httpAddress || '-', m.role || '-', m.role === 'leader' ? String(m.epoch) : '-']),
  );
  return `${head}\n${table}`;
}
