/**
 * CPU and memory figures of the machine, read straight from the kernel:
 * os.cpus() (the /proc/stat tick counters per core) and /proc/meminfo.
 * systeminformation did this before; it cost the agent about 10 MiB of
 * memory and ran `cat /proc/stat | grep cpu` through a shell, synchronously,
 * on every sample.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';

/** Logical CPU cores. */
export function cpuCores(): number {
  return Math.max(1, os.cpus().length);
}

/** Memory in bytes: the total, and what is in use without buffers and page cache. */
export interface MemoryStats {
  readonly total: number;
  /** total - MemAvailable: what programs hold, without what the kernel would give back. */
  readonly active: number;
}

/** The machine's memory now (/proc/meminfo; os.freemem where there is none). */
export async function memoryStats(): Promise<MemoryStats> {
  const text = await fs.readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  const total = Number.isFinite(kib('MemTotal')) ? kib('MemTotal') : os.totalmem();
  const available = Number.isFinite(kib('MemAvailable')) ? kib('MemAvailable') : os.freemem();
  return { total, active: Math.max(0, total - available) };
}

/** Busy and total CPU time over all cores, ms. */
interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

function cpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { busy, total };
}

/** CPU load between two calls of `sample` (since boot for the first). */
export class CpuLoad {
  private last: CpuTimes = { busy: 0, total: 0 };

  /** Cores busy on average since the last call (0 .. cores). */
  sample(): number {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const busy = now.busy - this.last.busy;
    this.last = now;
    return total > 0 ? (busy / total) * cpuCores() : 0;
  }
}
