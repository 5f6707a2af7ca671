/**
 * Watching a process that is not a child of anyone who would report its
 * exit: a task re-adopted after an agent restart (reparented to init), or
 * one whose spawner died. Its end is noticed by looking at /proc for its pid
 * and start time (a new process that reused the pid does not count), every
 * `idleMs`, or every `killingMs` while it is being killed.
 */
import { isProcessAlive } from './proc-stat.js';

/** How often to look. */
export interface PollIntervals {
  /** Between two looks normally. */
  readonly idleMs: number;
  /** Between two looks while a kill is under way. */
  readonly killingMs: number;
}

/** Polls /proc until a process is gone, then calls `gone` once. */
export class ProcPoller {
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(
    private readonly pid: number,
    private readonly startTime: number | undefined,
    private readonly intervals: PollIntervals,
    /** True while a kill is under way (looks come sooner). */
    private readonly killing: () => boolean,
    private readonly gone: () => void,
  ) {}

  /** Takes the first look after the usual interval. */
  start(): void {
    this.schedule(this.intervals.idleMs);
  }

  /** Looks again soon (a signal was just sent), unless a look is in progress. */
  soon(): void {
    if (this.polling || this.stopped) return;
    this.schedule(this.intervals.killingMs);
  }

  /** Stops looking; `gone` is not called. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    const alive = await isProcessAlive(this.pid, this.startTime);
    this.polling = false;
    if (this.stopped) return;
    if (alive) {
      this.schedule(this.killing() ? this.intervals.killingMs : this.intervals.idleMs);
      return;
    }
    this.stopped = true;
    this.gone();
  }
}
