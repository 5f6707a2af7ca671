/**
 * Restart backoff, as Marathon does it: every consecutive failure of an
 * app's tasks delays the next launch, starting at backoffSeconds and
 * multiplying by backoffFactor up to maxLaunchDelaySeconds, so a crash loop
 * cannot flood agents with sandboxes and the cluster with launches.
 *
 * The delay resets when the app gets a new version, and when a task that
 * started after the last failure has stayed RUNNING for `resetAfterMs`
 * (default 30 s): only a task that survives on its own proves the problem
 * is gone, not an older instance that was healthy all along.
 *
 * Kept in memory and persisted with the app at every failure (TaskFailures
 * writes `launchBackoff` in the same batch as the task's end), so a master
 * that restarts or takes over after a failover picks the delay up where it
 * was instead of letting a crash loop flood the agents again. A reset is not
 * written: the new master finds the same surviving task in the stored tasks
 * and resets the delay on its first pass.
 */
import type { AppRecord, LaunchBackoffRecord, TaskRecord } from '../model/records.js';

/** One app's backoff, for display. */
export interface BackoffView {
  /** Consecutive failures counted. */
  readonly failures: number;
  /** The current delay, ms (0 when none). */
  readonly delayMs: number;
  /** When the next launch may happen (ms since the epoch), while delayed. */
  readonly nextLaunchAt?: number;
}

type AppBackoff = LaunchBackoffRecord;

/** Launch delays per app. */
export class LaunchBackoff {
  private readonly apps = new Map<string, AppBackoff>();

  constructor(private readonly resetAfterMs = 30_000) {}

  /** Takes up the backoffs persisted with `apps` (a master starting on stored state). */
  restore(apps: Iterable<AppRecord>): void {
    for (const app of apps) {
      const b = app.launchBackoff;
      if (b === undefined || b.version !== app.version) continue;
      // A stored delay never exceeds what the app allows now, so a damaged
      // or hand-edited record cannot hold an app back for longer.
      const delayMs = Math.min(b.delayMs, (app.spec.maxLaunchDelaySeconds ?? 300) * 1000);
      this.apps.set(app.spec.id, { ...b, delayMs, nextLaunchAt: Math.min(b.nextLaunchAt, b.lastFailureAt + delayMs) });
    }
  }

  /** The backoff to persist with `app` (after `failed`), or undefined when it has none. */
  record(app: AppRecord): LaunchBackoffRecord | undefined {
    return this.current(app);
  }

  /** Counts a task of `app` that ended on its own at `endedAt`. */
  failed(app: AppRecord, endedAt: number): void {
    const spec = app.spec;
    const current = this.current(app);
    const base = (spec.backoffSeconds ?? 1) * 1000;
    const max = (spec.maxLaunchDelaySeconds ?? 300) * 1000;
    const delayMs = current ? Math.min(max, current.delayMs * (spec.backoffFactor ?? 1.15)) : Math.min(max, base);
    this.apps.set(spec.id, {
      version: app.version,
      failures: (current?.failures ?? 0) + 1,
      delayMs,
      lastFailureAt: endedAt,
      nextLaunchAt: endedAt + delayMs,
    });
  }

  /** Milliseconds until `app` may launch again (0: now). */
  delayLeft(app: AppRecord, now: number): number {
    const b = this.current(app);
    return b ? Math.max(0, b.nextLaunchAt - now) : 0;
  }

  /** Resets the delay if one of `tasks` started after the last failure and has run long enough. */
  resetIfRecovered(app: AppRecord, tasks: readonly TaskRecord[], now: number): void {
    const b = this.current(app);
    if (!b) return;
    const survivor = tasks.some(
      (t) => t.state === 'RUNNING' && t.startedAt !== undefined && t.startedAt > b.lastFailureAt && now - t.startedAt >= this.resetAfterMs,
    );
    if (survivor) this.apps.delete(app.spec.id);
  }

  /** Forgets an app (deleted). */
  forget(appId: string): void {
    this.apps.delete(appId);
  }

  /** What to show for an app. */
  view(app: AppRecord, now: number): BackoffView {
    const b = this.current(app);
    if (!b) return { failures: 0, delayMs: 0 };
    return { failures: b.failures, delayMs: b.delayMs, ...(b.nextLaunchAt > now ? { nextLaunchAt: b.nextLaunchAt } : {}) };
  }

  /** The app's backoff if it belongs to the app's current version. */
  private current(app: AppRecord): AppBackoff | undefined {
    const b = this.apps.get(app.spec.id);
    if (b && b.version !== app.version) {
      this.apps.delete(app.spec.id);
      return undefined;
    }
    return b;
  }
}
