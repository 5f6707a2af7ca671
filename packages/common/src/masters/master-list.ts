/**
 * The masters a client, the CLI or an agent is given: `h1:5053,h2:5053`,
 * `h1,h2,h3` (the gRPC port defaults to 5053), or an array of such. Any of
 * them will do to start with: a standby names the leader, and an
 * unreachable one is skipped (see @drover/client and the agent's session).
 */
import { Code } from '../errors/code.js';
import { DroverError } from '../errors/drover-error.js';

/** The master's gRPC port when an address names none. */
export const DEFAULT_MASTER_GRPC_PORT = 5053;

/**
 * Splits and completes a list of master addresses: entries are trimmed,
 * empty ones (a trailing comma) dropped, a missing port becomes 5053 and
 * duplicates are kept once. Throws InvalidArgument naming every bad entry,
 * or when nothing is left.
 */
export function parseMasterList(masters: string | readonly string[], defaultPort = DEFAULT_MASTER_GRPC_PORT): string[] {
  const entries = (typeof masters === 'string' ? [masters] : masters).flatMap((m) => m.split(',')).map((m) => m.trim()).filter((m) => m !== '');
  const problems: string[] = [];
  const out: string[] = [];
  for (const entry of entries) {
    const address = withPort(entry, defaultPort);
    if (address === undefined) problems.push(`"${entry}" is not host, host:port or [ipv6]:port`);
    else if (!out.includes(address)) out.push(address);
  }
  if (problems.length > 0) throw new DroverError(`bad master address: ${problems.join('; ')}`, Code.InvalidArgument);
  if (out.length === 0) throw new DroverError('no master address given', Code.InvalidArgument);
  return out;
}

function withPort(entry: string, defaultPort: number): string | undefined {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return port(v6[2], defaultPort) === undefined ? undefined : `[${v6[1]}]:${port(v6[2], defaultPort)}`;
  // A bare IPv6 address (two colons or more) cannot carry a port without brackets.
  if ((entry.match(/:/g) ?? []).length > 1) return /^[0-9A-Fa-f:.]+$/.test(entry) ? `[${entry}]:${defaultPort}` : undefined;
  const m = /^([A-Za-z0-9._-]+)(?::(\d+))?$/.exec(entry);
  if (!m) return undefined;
  const p = port(m[2], defaultPort);
  return p === undefined ? undefined : `${m[1]}:${p}`;
}

function port(text: string | undefined, defaultPort: number): number | undefined {
  if (text === undefined) return defaultPort;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}
