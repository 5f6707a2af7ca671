/**
 * Garbage collection of the sandboxes of finished tasks.
 *
 * A sandbox stays on disk after its task is forgotten (its logs are the
 * evidence of what happened), so without a collector the tasks dir only
 * grows. Every `intervalMs` the collector measures each sandbox (apparent
 * size of everything in it, symlinks not followed) and its age (the newest
 * modification time inside it: when the task last wrote anything), then
 *
 *   1. removes finished sandboxes older than `maxAgeMs`;
 *   2. while all sandboxes together (live ones included) take more than
 *      `maxTotalBytes`, removes the oldest finished one.
 *
 * A sandbox is never removed while its task is tracked (running, or ended
 * with its final status not yet acked) or while it holds a task checkpoint
 * (recovery may still need it); liveness is asked again right before each
 * removal. Live sandboxes count towards the total but are never removed, so
 * the total can stay above the limit when live tasks alone exceed it.
 */
import { type Dirent, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@drover/common';
import { CHECKPOINT_FILE } from './sandbox.js';

/** Default age after which a finished task's sandbox is removed: 7 days. */
export const DEFAULT_SANDBOX_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Default budget of all sandboxes together: 10 GiB. */
export const DEFAULT_SANDBOX_MAX_TOTAL_BYTES = 10 * 1024 ** 3;
/** Default time between collections: 5 minutes. */
export const DEFAULT_SANDBOX_GC_INTERVAL_MS = 5 * 60 * 1000;

/** How a SandboxCollector behaves. */
export interface SandboxCollectorOptions {
  /** Parent of the sandboxes. */
  tasksDir: string;
  /** True while the agent tracks the task (its sandbox must stay). */
  isTracked: (taskId: string) => boolean;
  /** Remove finished sandboxes older than this. */
  maxAgeMs?: number;
  /** Keep all sandboxes together under this many bytes by removing the oldest finished ones. */
  maxTotalBytes?: number;
  /** Time between collections. */
  intervalMs?: number;
  /** The current time (ms since the epoch); default Date.now. */
  now?: () => number;
  /** Logger (a child named "sandbox-collector" is taken). */
  logger: Logger;
}

/** What one collection found and did. */
export interface CollectionResult {
  /** Task ids whose sandboxes were removed, in removal order. */
  readonly removed: string[];
  /** Bytes in all sandboxes afterwards. */
  readonly totalBytes: number;
}

interface Measured {
  readonly taskId: string;
  readonly dir: string;
  readonly bytes: number;
  readonly lastModified: number;
  readonly live: boolean;
}

/** Removes finished tasks' sandboxes by age and by total size. */
export class SandboxCollector {
  private readonly log: Logger;
  private readonly maxAgeMs: number;
  private readonly maxTotalBytes: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly options: SandboxCollectorOptions) {
    this.log = options.logger.child({ component: 'sandbox-collector' });
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_SANDBOX_MAX_AGE_MS;
    this.maxTotalBytes = options.maxTotalBytes ?? DEFAULT_SANDBOX_MAX_TOTAL_BYTES;
    this.intervalMs = options.intervalMs ?? DEFAULT_SANDBOX_GC_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Collects now (in the background) and then every interval. */
  start(): void {
    this.stopped = false;
    this.tick(0);
  }

  /** Stops and waits for a collection in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One collection. */
  async collect(): Promise<CollectionResult> {
    const sandboxes = await this.measureAll();
    let total = sandboxes.reduce((sum, s) => sum + s.bytes, 0);
    const removed: string[] = [];
    const finished = sandboxes.filter((s) => !s.live).sort((a, b) => a.lastModified - b.lastModified);
    const now = this.now();
    for (const s of finished) {
      const tooOld = now - s.lastModified > this.maxAgeMs;
      if (!tooOld && total <= this.maxTotalBytes) continue;
      if (!(await this.removable(s))) continue;
      await fs.rm(s.dir, { recursive: true, force: true });
      total -= s.bytes;
      removed.push(s.taskId);
      this.log.info({ taskId: s.taskId, bytes: s.bytes, ageMs: now - s.lastModified, why: tooOld ? 'age' : 'total size' }, 'removed sandbox');
    }
    if (total > this.maxTotalBytes) {
      this.log.warn({ totalBytes: total, maxTotalBytes: this.maxTotalBytes }, 'live sandboxes alone exceed the sandbox budget');
    }
    return { removed, totalBytes: total };
  }

  private tick(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.collect()
        .catch((e: unknown) => this.log.warn({ err: e }, 'sandbox collection failed'))
        .finally(() => {
          this.running = undefined;
          this.tick(this.intervalMs);
        });
    }, delay);
    this.timer.unref();
  }

  private async measureAll(): Promise<Measured[]> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(this.options.tasksDir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: Measured[] = [];
    // Only real directories are sandboxes; anything else in the tasks dir is left alone.
    for (const entry of entries.filter((e) => e.isDirectory())) {
      const dir = path.join(this.options.tasksDir, entry.name);
      const usage = await measure(dir);
      out.push({ taskId: entry.name, dir, ...usage, live: !(await this.removable({ taskId: entry.name, dir })) });
    }
    return out;
  }

  /** A finished task's sandbox: not tracked, no checkpoint. */
  private async removable(s: { taskId: string; dir: string }): Promise<boolean> {
    if (this.options.isTracked(s.taskId)) return false;
    try {
      await fs.lstat(path.join(s.dir, CHECKPOINT_FILE));
      return false;
    } catch {
      return true;
    }
  }
}

/** Apparent bytes under `dir` and the newest modification time in it, symlinks not followed. */
async function measure(dir: string): Promise<{ bytes: number; lastModified: number }> {
  let bytes = 0;
  let lastModified = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    let st;
    try {
      st = await fs.lstat(current);
    } catch {
      continue; // removed while measuring
    }
    lastModified = Math.max(lastModified, st.mtimeMs);
    if (!st.isDirectory()) {
      bytes += st.size;
      continue;
    }
    try {
      for (const name of await fs.readdir(current)) stack.push(path.join(current, name));
    } catch {
      // Unreadable or gone: count what could be seen.
    }
  }
  return { bytes, lastModified };
}
