/**
 * Choosing host ports for one instance from an agent's free ranges.
 *
 * Fixed ports must be free. "Any port" requests get a random free port, as
 * Mesos offers do, rather than the lowest: handing out the lowest port
 * reuses a just-freed port at once, and a client still holding a connection
 * to the old task would then reach the new one.
 */
import { containsPort, countPorts, type PortRange } from '@drover/common';
import type { Random } from '../random.js';
import type { PortRequest } from '../types.js';

/** Why ports cannot be assigned. */
export type PortShortfall =
  | { readonly kind: 'fixed-port-taken'; readonly port: number }
  | { readonly kind: 'not-enough-ports'; readonly need: number; readonly free: number };

/** Checks, without choosing, whether the requests can be met; undefined when they can. */
export function portShortfall(free: readonly PortRange[], requests: readonly PortRequest[]): PortShortfall | undefined {
  const fixed = requests.filter((r) => r.port !== 0).map((r) => r.port);
  for (const port of fixed) {
    if (!containsPort(free, port)) return { kind: 'fixed-port-taken', port };
  }
  const any = requests.length - fixed.length;
  if (any === 0) return undefined;
  const available = countPorts(free) - fixed.length;
  return available >= any ? undefined : { kind: 'not-enough-ports', need: any, free: Math.max(0, available) };
}

/** Picks host ports for the requests, in order; undefined when they cannot be met. */
export function assignPorts(
  free: readonly PortRange[],
  requests: readonly PortRequest[],
  random: Random,
): number[] | undefined {
  if (portShortfall(free, requests) !== undefined) return undefined;
  const taken = new Set(requests.filter((r) => r.port !== 0).map((r) => r.port));
  const total = countPorts(free);
  return requests.map((r) => {
    if (r.port !== 0) return r.port;
    // Start at a random offset and walk forward to the first port not yet
    // chosen for this instance; portShortfall guaranteed one exists.
    const start = Math.floor(random() * total);
    for (let i = 0; i < total; i++) {
      const port = nthPort(free, (start + i) % total);
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
    throw new Error('unreachable: portShortfall said enough ports are free');
  });
}

function nthPort(ranges: readonly PortRange[], n: number): number {
  let left = n;
  for (const r of ranges) {
    const size = r.end - r.begin + 1;
    if (left < size) return r.begin + left;
    left -= size;
  }
  throw new RangeError(`port index ${n} out of range`);
}
