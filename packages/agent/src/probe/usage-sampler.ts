/**
 * Periodic samples of what the machine actually uses. Only cheap calls run on
 * the timer: /proc/meminfo, the CPU tick counters diffed against the previous
 * sample (machine-stats.ts), and the ports in use, four reads of /proc/net
 * (see ports-in-use.ts). Nothing that spawns a process or blocks the event
 * loop, which on a busy agent would delay heartbeats and status updates.
 *
 * Every sample carries the full set of offered ports in use, not a change
 * since the last one: a lost or reordered sample then cannot leave the
 * master with a wrong set for longer than one interval.
 */
import type { Logger, PortRange } from '@drover/common';
import type { ResourceUsage } from '@drover/proto';
import { CpuLoad, memoryStats } from './machine-stats.js';

const MiB = 1024 * 1024;

/** The machine's CPU load between two samples (one per process, as the counters are the machine's). */
const cpuLoad = new CpuLoad();

/**
 * How long an asked-for sample waits: the tasks that end together (a kill
 * of a whole app, an agent stopping) share one sample instead of taking
 * one each.
 */
export const SAMPLE_SOON_MS = 100;

/** Takes one usage sample; `tasksRunning` and `portsInUse` are the caller's. */
export async function sampleUsage(tasksRunning: number, portsInUse: PortRange[] = []): Promise<ResourceUsage> {
  const mem = await memoryStats();
  return {
    cpusUsed: Math.round(cpuLoad.sample() * 1000) / 1000,
    // "active" is used memory without buffers and page cache.
    memUsed: Math.round(mem.active / MiB),
    memTotal: Math.round(mem.total / MiB),
    tasksRunning,
    portsInUse,
  };
}

/** What a UsageSampler needs. */
export interface UsageSamplerOptions {
  /** Time between samples. */
  intervalMs: number;
  /** How many tasks are running now. */
  tasksRunning: () => number;
  /** The offered host ports in use on the machine now. */
  portsInUse: () => Promise<PortRange[]>;
  /** Receives each sample. */
  report: (usage: ResourceUsage) => void;
  /** Logger for failed samples. */
  logger: Logger;
}

/** Samples usage on a timer, or at once when asked; never overlaps two samples. */
export class UsageSampler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private sampling = false;
  private soon = false;
  private again = false;

  constructor(private readonly options: UsageSamplerOptions) {}

  /** Starts sampling (the first sample after one interval). */
  start(): void {
    this.schedule();
  }

  /**
   * Takes a sample within SAMPLE_SOON_MS instead of at the next tick (after
   * the one in flight, if any). The agent asks when a task ends: if it
   * failed because another process took its port, the master hears of that
   * port before it places the replacement, not up to an interval later.
   */
  sampleSoon(): void {
    if (this.stopped || this.soon) return;
    if (this.sampling) {
      this.again = true;
      return;
    }
    this.soon = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), SAMPLE_SOON_MS);
    this.timer.unref();
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
    this.soon = false;
    this.sampling = true;
    try {
      const ports = await this.options.portsInUse();
      const usage = await sampleUsage(this.options.tasksRunning(), ports);
      if (!this.stopped) this.options.report(usage);
    } catch (e) {
      // A failed read reports nothing rather than an empty set of ports,
      // which would free ports the master knows to be taken.
      this.options.logger.warn({ err: e }, 'cannot sample machine usage');
    }
    this.sampling = false;
    if (this.again) {
      this.again = false;
      this.sampleSoon();
      return;
    }
    this.schedule();
  }
}
