/**
 * Which cgroup files a task's limits are written to, and with what. Pure, so
 * both versions' tables are tested without a kernel.
 *
 * Units. `cpus` maps to the same meaning in both versions: a CFS quota of
 * cpus × period per period (a hard cap) and a weight where one core equals
 * the kernel's default (v1 cpu.shares 1024, v2 cpu.weight 100), so a
 * one-core task competes evenly with the machine's other services.
 */

/** Which controller's hierarchy a file lives in (v1 mounts each apart; v2 has one tree). */
export type Controller = 'memory' | 'cpu' | 'pids';

/** One write of a limit into a task's cgroup. */
export interface CgroupWrite {
  /** The controller the file belongs to. */
  readonly controller: Controller;
  /** File name inside the task's cgroup directory. */
  readonly file: string;
  /** What is written. */
  readonly value: string;
}

/** What the kernel offers beyond the basics, found at detection. */
export interface CgroupFeatures {
  /** Swap is accounted (v1 memory.memsw.*, v2 memory.swap.max exist). */
  readonly swapAccounting: boolean;
}

/** CFS period: 100 ms, the kernel's default. */
export const CFS_PERIOD_US = 100_000;
/** The smallest quota the kernel accepts. */
const MIN_CFS_QUOTA_US = 1000;
const MIB = 1024 * 1024;

/** The writes that give a task its limits, in the order they must be made. */
export function limitWrites(
  version: 1 | 2,
  limits: { readonly cpus: number; readonly memMiB: number; readonly pids: number },
  features: CgroupFeatures,
): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const w = (controller: Controller, file: string, value: string | number) =>
    writes.push({ controller, file, value: String(value) });

  if (limits.memMiB > 0) {
    const bytes = Math.round(limits.memMiB * MIB);
    if (version === 1) {
      w('memory', 'memory.limit_in_bytes', bytes);
      // memsw is memory + swap: setting it to the same value leaves no room
      // to swap. It must never be below limit_in_bytes, hence after it.
      if (features.swapAccounting) w('memory', 'memory.memsw.limit_in_bytes', bytes);
      // Without swap accounting the next best thing: this cgroup's pages are
      // not swapped out (swappiness 0 means never for a v1 memory cgroup).
      else w('memory', 'memory.swappiness', 0);
    } else {
      w('memory', 'memory.max', bytes);
      if (features.swapAccounting) w('memory', 'memory.swap.max', 0);
      // Kill the whole task on OOM, not one process picked inside it: a task
      // missing one of its processes is broken in ways nobody can see.
      w('memory', 'memory.oom.group', 1);
    }
  }

  if (limits.cpus > 0) {
    const quota = Math.max(MIN_CFS_QUOTA_US, Math.round(limits.cpus * CFS_PERIOD_US));
    if (version === 1) {
      w('cpu', 'cpu.cfs_period_us', CFS_PERIOD_US);
      w('cpu', 'cpu.cfs_quota_us', quota);
      w('cpu', 'cpu.shares', Math.max(2, Math.round(limits.cpus * 1024)));
    } else {
      w('cpu', 'cpu.max', `${quota} ${CFS_PERIOD_US}`);
      w('cpu', 'cpu.weight', Math.min(10_000, Math.max(1, Math.round(limits.cpus * 100))));
    }
  }

  if (limits.pids > 0) w('pids', 'pids.max', Math.floor(limits.pids));
  return writes;
}
