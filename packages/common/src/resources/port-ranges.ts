/**
 * Port ranges as agents offer them ("31000-32000,33000"): parsing, counting,
 * and removing ports in use. Ranges are inclusive and kept sorted and merged.
 */
import { Code } from '../errors/code.js';
import { DroverError } from '../errors/drover-error.js';

/** An inclusive range of ports. */
export interface PortRange {
  readonly begin: number;
  readonly end: number;
}

/** Sorts ranges and merges overlapping or adjacent ones. */
export function normalizeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) {
      out[out.length - 1] = { begin: last.begin, end: Math.max(last.end, r.end) };
    } else {
      out.push({ begin: r.begin, end: r.end });
    }
  }
  return out;
}

/** Parses "31000-32000,33000" into ranges; throws InvalidArgument on bad text. */
export function parsePortRanges(text: string): PortRange[] {
  const ranges: PortRange[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const begin = m ? Number(m[1]) : NaN;
    const end = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || begin < 1 || end > 65535 || begin > end) {
      throw new DroverError(`bad port range "${part}": expected N or N-M with 1 <= N <= M <= 65535`, Code.InvalidArgument);
    }
    ranges.push({ begin, end });
  }
  return normalizeRanges(ranges);
}

/** "31000-32000,33000" */
export function formatPortRanges(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.begin === r.end ? `${r.begin}` : `${r.begin}-${r.end}`)).join(',');
}

/** How many ports the ranges hold. */
export function countPorts(ranges: readonly PortRange[]): number {
  return ranges.reduce((n, r) => n + (r.end - r.begin + 1), 0);
}

/** True when `port` is inside one of the ranges. */
export function containsPort(ranges: readonly PortRange[], port: number): boolean {
  return ranges.some((r) => port >= r.begin && port <= r.end);
}

/** The ranges minus the given ports (which need not be sorted or inside). */
export function removePorts(ranges: readonly PortRange[], ports: Iterable<number>): PortRange[] {
  const taken = [...new Set(ports)].sort((a, b) => a - b);
  const out: PortRange[] = [];
  let i = 0;
  for (const r of normalizeRanges(ranges)) {
    let begin = r.begin;
    while (i < taken.length && (taken[i] as number) < begin) i++;
    while (i < taken.length && (taken[i] as number) <= r.end) {
      const p = taken[i] as number;
      if (p > begin) out.push({ begin, end: p - 1 });
      begin = p + 1;
      i++;
    }
    if (begin <= r.end) out.push({ begin, end: r.end });
  }
  return out;
}

/** The ranges minus every port of `removed` (which need not be sorted, merged or inside). */
export function removeRanges(ranges: readonly PortRange[], removed: readonly PortRange[]): PortRange[] {
  const cuts = normalizeRanges(removed);
  const out: PortRange[] = [];
  let first = 0;
  for (const r of normalizeRanges(ranges)) {
    let begin = r.begin;
    // Cuts that end before this range cannot touch a later one either.
    while (first < cuts.length && (cuts[first] as PortRange).end < begin) first++;
    for (let i = first; i < cuts.length && (cuts[i] as PortRange).begin <= r.end; i++) {
      const cut = cuts[i] as PortRange;
      if (cut.begin > begin) out.push({ begin, end: cut.begin - 1 });
      begin = Math.max(begin, cut.end + 1);
    }
    if (begin <= r.end) out.push({ begin, end: r.end });
  }
  return out;
}

/** Each port as a single-port range, the way a task's held ports are listed. */
export function portsAsRanges(ports: readonly number[]): PortRange[] {
  return ports.map((p) => ({ begin: p, end: p }));
}
