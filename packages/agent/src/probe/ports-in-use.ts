/**
 * Which host ports something on the machine already uses, so the agent
 * never offers them: a task given a port another process listens on fails
 * with EADDRINUSE.
 *
 * The kernel lists every socket of the agent's network namespace in
 * /proc/net/{tcp,tcp6,udp,udp6}: one read per file, no dependency, no
 * process to spawn. A TCP port is in use when a socket LISTENs on it (state
 * 0A): established connections and TIME_WAIT do not stop a server that sets
 * SO_REUSEADDR, as Node, Go and Java servers do. Every UDP socket listed is
 * bound, so each one counts. The local address is ignored: a listener on
 * 127.0.0.1:P still makes a task's 0.0.0.0:P bind fail, and a task may bind
 * either. Ports are not told apart by protocol, as the master's port
 * accounting does not: a task's port is held for TCP and UDP alike.
 *
 * Tasks in another network namespace (Docker BRIDGE) are reached through
 * docker-proxy, which listens on the host, so their published ports appear
 * too. (With Docker's userland proxy turned off, published ports are only
 * iptables rules and do not appear: nothing here can see them.)
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { normalizeRanges, type PortRange } from '@drover/common';

/** The socket tables read, under /proc/net. */
export const SOCKET_TABLES = [
  { file: 'tcp', protocol: 'tcp' },
  { file: 'tcp6', protocol: 'tcp' },
  { file: 'udp', protocol: 'udp' },
  { file: 'udp6', protocol: 'udp' },
] as const;

/** The kernel's TCP_LISTEN state, as /proc/net/tcp prints it. */
const TCP_LISTEN = 0x0a;

/**
 * The local ports in use in one /proc/net socket table: LISTEN sockets of a
 * tcp or tcp6 table, every socket of a udp or udp6 table. The header line
 * and malformed lines are skipped.
 *
 * A busy host lists every connection (100,000 of them are 13 MB of text),
 * and this runs on the agent's event loop every usage interval, so lines
 * are read in place with indexOf rather than split into fields, and a
 * connection's line is dropped at its state: about 30 ms for such a table
 * instead of 200.
 */
export function portsInTable(text: string, protocol: 'tcp' | 'udp'): number[] {
  const ports: number[] = [];
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const port = portOfLine(text, start, end, protocol);
    if (port !== undefined) ports.push(port);
    start = end + 1;
  }
  return ports;
}

/** "   0: 0100007F:1F90 00000000:0000 0A ...": slot, local address:port, remote, state; undefined when it does not count. */
function portOfLine(text: string, start: number, end: number, protocol: 'tcp' | 'udp'): number | undefined {
  const slotEnd = text.indexOf(': ', start);
  if (slotEnd < 0 || slotEnd >= end) return undefined;
  const localEnd = text.indexOf(' ', slotEnd + 2);
  const remoteEnd = localEnd < 0 ? -1 : text.indexOf(' ', localEnd + 1);
  if (remoteEnd < 0 || remoteEnd + 3 > end) return undefined;
  // The state first: on a busy host most lines are connections, not listeners.
  if (protocol === 'tcp' && Number.parseInt(text.slice(remoteEnd + 1, remoteEnd + 3), 16) !== TCP_LISTEN) return undefined;
  if (!/^\s*\d+$/.test(text.slice(start, slotEnd))) return undefined;
  const colon = text.lastIndexOf(':', localEnd);
  if (colon <= slotEnd + 1) return undefined;
  const port = Number.parseInt(text.slice(colon + 1, localEnd), 16);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

/** Every port in use on the machine, read from `procNet` (a table that does not exist, e.g. tcp6 without IPv6, is skipped). */
export async function readPortsInUse(procNet = '/proc/net'): Promise<Set<number>> {
  const tables = await Promise.all(
    SOCKET_TABLES.map(async ({ file, protocol }) => {
      try {
        return portsInTable(await fs.readFile(path.join(procNet, file), 'utf8'), protocol);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    }),
  );
  return new Set(tables.flat());
}

/** The ports of `inUse` that lie inside `offered`, as sorted, merged ranges. */
export function inUseWithin(offered: readonly PortRange[], inUse: ReadonlySet<number>): PortRange[] {
  const ranges: PortRange[] = [];
  for (const port of inUse) {
    if (offered.some((r) => port >= r.begin && port <= r.end)) ranges.push({ begin: port, end: port });
  }
  return normalizeRanges(ranges);
}

/** Reads the machine's sockets and returns the offered ports in use, as ranges. */
export async function offeredPortsInUse(offered: readonly PortRange[], procNet = '/proc/net'): Promise<PortRange[]> {
  if (offered.length === 0) return [];
  return inUseWithin(offered, await readPortsInUse(procNet));
}
