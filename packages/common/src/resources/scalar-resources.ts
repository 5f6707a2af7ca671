/**
 * Arithmetic on the countable resources (cpus, mem, disk, gpus). Values are
 * kept in fixed point with three decimals, as Mesos does, so that adding
 * and removing 0.1 cpus a thousand times lands exactly where it started
 * instead of drifting by floating-point error and slowly overcommitting or
 * stranding an agent.
 */

/** Countable resources; ports are handled by port-ranges.ts. */
export interface ScalarResources {
  /** CPU cores, fractional. */
  readonly cpus: number;
  /** Memory, MiB. */
  readonly mem: number;
  /** Disk, MiB. */
  readonly disk: number;
  /** Whole GPUs. */
  readonly gpus: number;
}

/** The names of the countable resources, in display order. */
export const SCALAR_NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;
/** One countable resource's name. */
export type ScalarName = (typeof SCALAR_NAMES)[number];

/** Nothing at all. */
export const ZERO: ScalarResources = Object.freeze({ cpus: 0, mem: 0, disk: 0, gpus: 0 });

/** Rounds to the fixed-point grid (0.001). -0 becomes 0: protobuf cannot tell them apart, so neither do we. */
export function fixed(value: number): number {
  return Math.round(value * 1000) / 1000 + 0;
}

/** Builds a ScalarResources, treating missing fields as zero. */
export function scalars(partial: Partial<ScalarResources> = {}): ScalarResources {
  return {
    cpus: fixed(partial.cpus ?? 0),
    mem: fixed(partial.mem ?? 0),
    disk: fixed(partial.disk ?? 0),
    gpus: fixed(partial.gpus ?? 0),
  };
}

/** a + b */
export function add(a: ScalarResources, b: ScalarResources): ScalarResources {
  return {
    cpus: fixed(a.cpus + b.cpus),
    mem: fixed(a.mem + b.mem),
    disk: fixed(a.disk + b.disk),
    gpus: fixed(a.gpus + b.gpus),
  };
}

/** a - b (may go negative: callers check with fits first). */
export function subtract(a: ScalarResources, b: ScalarResources): ScalarResources {
  return {
    cpus: fixed(a.cpus - b.cpus),
    mem: fixed(a.mem - b.mem),
    disk: fixed(a.disk - b.disk),
    gpus: fixed(a.gpus - b.gpus),
  };
}

/** Sum of many. */
export function sum(items: Iterable<ScalarResources>): ScalarResources {
  let total = ZERO;
  for (const item of items) total = add(total, item);
  return total;
}

/** True when `need` fits in `free` on every resource. */
export function fits(need: ScalarResources, free: ScalarResources): boolean {
  return SCALAR_NAMES.every((name) => fixed(need[name]) <= fixed(free[name]));
}

/** The resources `need` asks for more of than `free` has, in display order. */
export function shortfalls(need: ScalarResources, free: ScalarResources): ScalarName[] {
  return SCALAR_NAMES.filter((name) => fixed(need[name]) > fixed(free[name]));
}

/** Largest share of `total` that `used` takes on any one resource (0..1+). */
export function dominantShare(used: ScalarResources, total: ScalarResources): number {
  let share = 0;
  for (const name of SCALAR_NAMES) {
    if (total[name] > 0) share = Math.max(share, used[name] / total[name]);
  }
  return share;
}

/** "1.5 cpus, 512 MiB mem, 0 MiB disk" (gpus only when non-zero). */
export function formatScalars(r: ScalarResources): string {
  const parts = [`${r.cpus} cpus`, `${r.mem} MiB mem`, `${r.disk} MiB disk`];
  if (r.gpus > 0) parts.push(`${r.gpus} gpus`);
  return parts.join(', ');
}

/** One resource amount with its unit: "512 MiB", "0.5 cpus". */
export function formatAmount(name: ScalarName, value: number): string {
  return name === 'mem' || name === 'disk' ? `${fixed(value)} MiB` : `${fixed(value)} ${name}`;
}
