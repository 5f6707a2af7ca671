/** Short renderings of resource quantities shared by the app, task and agent views. */
import { fixed, formatPortRanges, formatScalars, scalars } from '@drover/common';
import type { Resources } from '@drover/proto';

/** "0.5 cpus, 64 MiB mem, 0 MiB disk" (+ gpus when any, + ports when any). */
export function formatResources(r: Resources | undefined): string {
  if (r === undefined) return '-';
  const text = formatScalars(scalars(r));
  return r.ports.length > 0 ? `${text}, ports ${formatPortRanges(r.ports)}` : text;
}

/** "used/total", for agent capacity columns. */
export function usedOfTotal(used: number | undefined, total: number | undefined, unit = ''): string {
  return `${fixed(used ?? 0)}/${fixed(total ?? 0)}${unit}`;
}

/** A number without float noise: 0.30000000000000004 -> "0.3". */
export function formatNumber(n: number | undefined): string {
  return n === undefined ? '-' : String(fixed(n));
}
