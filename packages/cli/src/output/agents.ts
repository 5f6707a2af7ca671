/** How agents look in `drover agent list` and `drover agent get`. */
import { formatPortRanges } from '@drover/common';
import { type Agent, agentStateCodec } from '@drover/proto';
import { type DetailRow, formatDetails } from './details.js';
import { formatResources, usedOfTotal } from './resources.js';
import { formatTable } from './table.js';
import { ageSince, formatMoment, relativeTime } from './time.js';

/**
 * The agent list as a table: reserved capacity as used/total. A draining
 * agent's state reads "ACTIVE,draining" (kubectl's "Ready,SchedulingDisabled"):
 * one word for awk, and lower case because draining is a flag set by an
 * operator, not a connection state.
 */
export function formatAgentTable(agents: readonly Agent[], now: Date): string {
  return formatTable(
    ['id', 'hostname', 'state', 'cpus', 'mem', 'tasks', 'last seen'],
    agents.map((a) => [
      a.id,
      a.hostname || '-',
      a.draining ? `${stateOf(a)},draining` : stateOf(a),
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
    ['State', stateOf(a)],
    ['Draining', a.draining ? (a.drainDeadline ? `until ${formatMoment(a.drainDeadline, now)}` : 'yes') : undefined],
    ['Version', a.version || '-'],
    ['Attributes', Object.entries(a.attributes).map(([k, v]) => `${k}=${v}`).join(', ') || '-'],
    // "docker" and "isolation:cgroups-v1|v2|none": what apps can ask of this agent, and whether limits hold.
    ['Capabilities', a.capabilities.join(', ') || '-'],
    ['Boot id', a.bootId || '-'],
    ['Total', formatResources(a.total)],
    ['Reserved', formatResources(a.used)],
    [
      'Machine usage',
      usage === undefined
        ? undefined
        : `${usedOfTotal(usage.cpusUsed, a.total?.cpus)} cpus, ${usedOfTotal(usage.memUsed, usage.memTotal, ' MiB')} mem`,
    ],
    // Why an offered port is never handed out: something else on the machine holds it.
    ['Ports in use', a.foreignPorts.length > 0 ? `${formatPortRanges(a.foreignPorts)} (by other processes: not given to tasks)` : undefined],
    ['Tasks', String(a.tasks)],
    ['Registered', formatMoment(a.registeredAt, now)],
    ['Last seen', formatMoment(a.lastSeenAt, now)],
  ];
  return formatDetails(rows);
}

/**
 * What `drover agent drain` prints: "draining agent a1 (node1): no new tasks;
 * its tasks move elsewhere; the rest are killed at <time> (in 5m)".
 */
export function formatDrainStarted(a: Agent, now: Date): string {
  const deadline = a.drainDeadline ? `; the rest are killed at ${a.drainDeadline.toISOString()} (${relativeTime(a.drainDeadline, now)})` : '';
  return `draining agent ${a.id} (${a.hostname || '-'}): no new tasks; its tasks move elsewhere${deadline}\n`;
}

function stateOf(a: Agent): string {
  return agentStateCodec.name(a.state) ?? 'UNKNOWN';
}
