/** How agents look in `drover agent list` and `drover agent get`. */
import { type Agent, agentStateCodec } from '@drover/proto';
import { type DetailRow, formatDetails } from './details.js';
import { formatResources, usedOfTotal } from './resources.js';
import { formatTable } from './table.js';
import { ageSince } from './time.js';

/** The agent list as a table: reserved capacity as used/total. */
export function formatAgentTable(agents: readonly Agent[], now: Date): string {
  return formatTable(
    ['id', 'hostname', 'state', 'cpus', 'mem', 'tasks', 'last seen'],
    agents.map((a) => [
      a.id,
      a.hostname || '-',
      agentStateCodec.name(a.state) ?? 'UNKNOWN',
      usedOfTotal(a.used?.cpus, a.total?.cpus),
      usedOfTotal(a.used?.mem, a.total?.mem, ' MiB'),
      String(a.tasks),
      ageSince(a.lastSeenAt, now),
    ]),
  );
}

/** One agent in detail. */
export function formatAgentDetails(a: Agent, now: Date): string {
  const usage = a.usage;
  const rows: DetailRow[] = [
    ['ID', a.id],
    ['Hostname', a.hostname || '-'],
    ['Address', a.address || '-'],
    ['State', agentStateCodec.name(a.state) ?? 'UNKNOWN'],
    ['Version', a.version || '-'],
    ['Attributes', Object.entries(a.attributes).map(([k, v]) => `${k}=${v}`).join(', ') || '-'],
    ['Total', formatResources(a.total)],
    ['Reserved', formatResources(a.used)],
    [
      'Machine usage',
      usage === undefined
        ? undefined
        : `${usedOfTotal(usage.cpusUsed, a.total?.cpus)} cpus, ${usedOfTotal(usage.memUsed, usage.memTotal, ' MiB')} mem`,
    ],
    ['Tasks', String(a.tasks)],
    ['Registered', a.registeredAt ? `${a.registeredAt.toISOString()} (${ageSince(a.registeredAt, now)} ago)` : undefined],
    ['Last seen', a.lastSeenAt ? `${a.lastSeenAt.toISOString()} (${ageSince(a.lastSeenAt, now)} ago)` : undefined],
  ];
  return formatDetails(rows);
}
