/**
 * Periodic samples of what the machine actually uses. Only cheap calls run on
 * the timer: si.mem() reads /proc/meminfo and si.currentLoad() diffs
 * /proc/stat against its previous call. Never si.fsSize() or
 * si.networkInterfaces() here: they spawn dozens of processes and block the
 * event loop, which on a busy agent delays heartbeats and status updates.
 */
import type { Logger } from '@drover/common';
import type { ResourceUsage } from '@drover/proto';
import si from 'systeminformation';

const MiB = 1024 * 1024;

/** Takes one usage sample; `tasksRunning` is filled in by the caller's count. */
export async function sampleUsage(tasksRunning: number): Promise<ResourceUsage> {
  const [mem, load] = await Promise.all([si.mem(), si.currentLoad()]);
  const cores = load.cpus.length > 0 ? load.cpus.length : 1;
  return {
    cpusUsed: Math.round((load.currentLoad / 100) * cores * 1000) / 1000,
    // "active" is used memory without buffers and page cache.
    memUsed: Math.round(mem.active / MiB),
    memTotal: Math.round(mem.total / MiB),
    tasksRunning,
  };
}

/** What a UsageSampler needs. */
export interface UsageSamplerOptions {
  /** Time between samples. */
  intervalMs: number;
  /** How many tasks are running now. */
  tasksRunning: () => number;
  /** Receives each sample. */
  report: (usage: ResourceUsage) => void;
  /** Logger for failed samples. */
  logger: Logger;
}

/** Samples usage on a timer; never overlaps two samples. */
export class UsageSampler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: UsageSamplerOptions) {}

  /** Starts sampling (the first sample after one interval). */
  start(): void {
    this.schedule();
  }

  /** Stops sampling. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const usage = await sampleUsage(this.options.tasksRunning());
      if (!this.stopped) this.options.report(usage);
    } catch (e) {
      this.options.logger.warn({ err: e }, 'cannot sample machine usage');
    }
    this.schedule();
  }
}
