/**
 * How far a deployment got, measured on the app's live tasks.
 *
 * "New" tasks are the live tasks of the configuration version the
 * deployment moves to, and only as many of them as it targets: after a scale
 * from 3 to 2 all three tasks run that version, and counting them all showed
 * "3/2 new healthy". The ones beyond the target, and those being stopped,
 * are surplus still to go, like the old version's tasks. So new live and
 * new healthy never exceed the target, and the deployment is done when the
 * target is healthy and nothing else is left.
 *
 * Healthy is task-health.ts's rule: a task that died at start never counts.
 * A task without health checks that runs but has not run long enough yet is
 * "settling": not progress yet, but not a stall either (see
 * DeploymentManager.evaluate).
 */
import { isLive } from '@drover/common';
import type { TaskRecord } from '../model/records.js';
import { healthyInMs } from '../tasks/task-health.js';

/** How far a deployment got. */
export interface Progress {
  /** Live tasks of the target version that stay (at most the target). */
  readonly newLive: number;
  /** Healthy tasks of the target version (at most the target). */
  readonly newHealthy: number;
  /** Live tasks of other versions. */
  readonly oldRemaining: number;
  /** Live tasks of the target version beyond the target or being stopped. */
  readonly surplusRemaining: number;
  /** Healthy tasks of any version. */
  readonly healthyTotal: number;
  /** Live tasks of any version. */
  readonly liveTotal: number;
  /** Tasks of the target version that will count as healthy once they have run a little longer. */
  readonly settling: number;
  /** When `settling` > 0: milliseconds until the first of them counts. */
  readonly settledInMs?: number;
}

/** What progress is measured against. */
export interface ProgressTarget {
  /** The configuration version whose tasks are new. */
  readonly version: string;
  /** Instances the app should end with. */
  readonly instances: number;
  /** The time to measure at, ms since the epoch. */
  readonly now: number;
  /** How long a task without health checks must run to count as healthy. */
  readonly minRunningMs: number;
}

/** Measures progress toward `target` from the app's tasks (ended ones are ignored). */
export function progressOf(tasks: readonly TaskRecord[], target: ProgressTarget): Progress {
  let targetLive = 0;
  let staying = 0;
  let targetHealthy = 0;
  let oldRemaining = 0;
  let healthyTotal = 0;
  let liveTotal = 0;
  let settling = 0;
  let settledInMs = Infinity;
  for (const t of tasks) {
    if (!isLive(t.state)) continue;
    liveTotal++;
    const inMs = healthyInMs(t, target.now, target.minRunningMs);
    if (inMs === 0) healthyTotal++;
    if (t.appVersion !== target.version) {
      oldRemaining++;
      continue;
    }
    targetLive++;
    if (!t.killRequested) staying++;
    if (inMs === 0) targetHealthy++;
    else if (inMs !== undefined) {
      settling++;
      settledInMs = Math.min(settledInMs, inMs);
    }
  }
  const newLive = Math.min(staying, target.instances);
  return {
    newLive,
    newHealthy: Math.min(targetHealthy, target.instances),
    oldRemaining,
    surplusRemaining: targetLive - newLive,
    healthyTotal,
    liveTotal,
    settling,
    ...(settling > 0 ? { settledInMs } : {}),
  };
}

/** True when the deployment is done: the target healthy, nothing else live. */
export function isComplete(p: Progress, instances: number): boolean {
  return p.newHealthy >= instances && p.oldRemaining === 0 && p.surplusRemaining === 0;
}

/** A fingerprint of progress, "newHealthy/remaining", stored to tell later progress from a stall. */
export function progressMark(p: Pick<Progress, 'newHealthy' | 'oldRemaining' | 'surplusRemaining'>): string {
  return `${p.newHealthy}/${p.oldRemaining + p.surplusRemaining}`;
}

/**
 * True when `p` is closer to done than the mark: more new healthy, or fewer
 * tasks left to go. The mark only moves on improvement, so a task that is
 * started and dies again and again (new surplus, then gone) never counts.
 */
export function improvedSince(mark: string, p: Progress): boolean {
  const [healthy = 0, left = Infinity] = mark.split('/').map(Number);
  return p.newHealthy > healthy || p.oldRemaining + p.surplusRemaining < left;
}
