/**
 * What happens to a running deployment next, decided without touching
 * anything: the orchestrator asks on every pass (evaluateDeployment) and
 * writes and announces what comes back (DeploymentManager.record).
 *
 *   RUNNING ──target healthy, nothing else left──▶ SUCCEEDED
 *      │ ──closer to done (progress mark moved)──▶ RUNNING, deadline restarts
 *      │ ──no progress for progressDeadline─────▶ FAILED, and a ROLLBACK to
 *      │                                            the version it came from
 *      │                                            (not for a rollback, a
 *      │                                            scale, or without one)
 *      └──canceled───────────────────────────────▶ CANCELED, and a ROLLBACK
 *                                                   (unless forced)
 *
 * A task that runs but has not run long enough to count (see
 * deployment-progress.ts) is progress in the making, not a stall: a deadline
 * shorter than the min running time must not fail a deployment whose tasks
 * are fine.
 */
import type { Mutation } from '../model/mutation.js';
import type { AppRecord, DeploymentRecord, ProgressRecord, TaskRecord, VersionRecord } from '../model/records.js';
import { improvedSince, isComplete, type Progress, progressMark, progressOf } from './deployment-progress.js';
import { strategyLimits } from './strategy.js';

/** The configuration version whose tasks a deployment counts as new. */
export function configVersionOf(d: DeploymentRecord): string {
  return d.configVersion ?? d.version;
}

/** What to do about one app's running deployment. */
export type DeploymentStep =
  /** Nothing to write; look again in `wakeInMs` (the deadline, or a task settling) if given. */
  | { readonly kind: 'unchanged'; readonly wakeInMs?: number }
  /** Closer to done: the new progress mark, with the deadline counted from now; look again in `wakeInMs`. */
  | { readonly kind: 'progressed'; readonly deployment: DeploymentRecord; readonly wakeInMs: number }
  /** Done. */
  | { readonly kind: 'succeeded'; readonly deployment: DeploymentRecord }
  /** Ended without a rollback (`deployment` is the ended record). */
  | { readonly kind: 'failed'; readonly deployment: DeploymentRecord; readonly why: string }
  /** Ended, and the app goes back to where it came from under a new ROLLBACK deployment. */
  | { readonly kind: 'rolledBack'; readonly ended: DeploymentRecord; readonly app: AppRecord; readonly rollback: DeploymentRecord; readonly why: string };

/** Everything evaluateDeployment looks at. */
export interface DeploymentFacts {
  /** The app's running deployment. */
  readonly deployment: DeploymentRecord;
  readonly app: AppRecord;
  /** The app's live tasks. */
  readonly tasks: readonly TaskRecord[];
  /** The stored version the deployment came from (for a rollback), if it still is. */
  readonly fromVersion: VersionRecord | undefined;
  readonly now: number;
  /** How long a task without health checks must have run to count as healthy. */
  readonly minRunningMs: number;
  /** Makes the id of a rollback deployment. */
  readonly newId: () => string;
}

/** Where a running deployment goes next. */
export function evaluateDeployment(f: DeploymentFacts): DeploymentStep {
  const d = f.deployment;
  const p = measure(d, f.tasks, f.now, f.minRunningMs);
  if (isComplete(p, d.targetInstances)) {
    return { kind: 'succeeded', deployment: { ...ended(d, 'SUCCEEDED', f.now, p), lastProgressAt: f.now, progressMark: progressMark(p) } };
  }
  if (improvedSince(d.progressMark, p)) {
    // Look again at the deadline, or sooner when a task will count by then.
    const wakeInMs = Math.min(d.progressDeadlineMs, p.settledInMs ?? Infinity);
    return { kind: 'progressed', deployment: { ...d, progressMark: progressMark(p), lastProgressAt: f.now }, wakeInMs };
  }
  if (p.settledInMs !== undefined) return { kind: 'unchanged', wakeInMs: p.settledInMs };
  const stalledMs = f.now - d.lastProgressAt;
  if (stalledMs < d.progressDeadlineMs) return { kind: 'unchanged', wakeInMs: d.progressDeadlineMs - stalledMs };
  const why = `no progress for ${Math.round(stalledMs / 1000)} s (progress deadline ${d.progressDeadlineMs / 1000} s)`;
  // A rollback that fails is not rolled back again (that would ping-pong),
  // and a scale that cannot be carried out keeps asking for its instances
  // (records from before scales had versions of their own say a scale by
  // moving from a version to itself).
  if (d.kind === 'ROLLBACK' || d.kind === 'SCALE' || d.fromVersion === '' || d.fromVersion === d.version) {
    return { kind: 'failed', deployment: ended(d, 'FAILED', f.now, p, why), why };
  }
  return rollBack({ ...f, progress: p, end: 'FAILED', why: `${why}; rolling back to ${d.fromVersion}` });
}

/**
 * Ends `deployment` and starts a deployment back to its from-version. That
 * may be a version a scale created: the app then gets back that
 * configuration with that instance count, and the tasks of the
 * configuration are current again at once.
 */
export function rollBack(f: DeploymentFacts & { readonly progress: ProgressRecord; readonly end: 'FAILED' | 'CANCELED'; readonly why: string }): DeploymentStep {
  const d = f.deployment;
  const previous = f.fromVersion;
  if (!previous) {
    const why = `${f.why}: version ${d.fromVersion} is no longer stored`;
    return { kind: 'failed', deployment: ended(d, f.end, f.now, f.progress, why), why };
  }
  const { scaledAt: _current, ...rest } = f.app;
  const restored: AppRecord = {
    ...rest,
    spec: previous.spec,
    version: previous.configVersion ?? previous.version,
    ...(previous.configVersion !== undefined ? { scaledAt: previous.version } : {}),
  };
  const limits = strategyLimits(restored.spec);
  const draft: DeploymentRecord = {
    id: f.newId(),
    appId: d.appId,
    kind: 'ROLLBACK',
    state: 'RUNNING',
    version: previous.version,
    configVersion: restored.version,
    fromVersion: d.version,
    targetInstances: restored.spec.instances ?? 0,
    minHealthy: limits.minHealthy,
    maxLive: limits.maxLive,
    progressDeadlineMs: limits.progressDeadlineMs,
    startedAt: f.now,
    lastProgressAt: f.now,
    progressMark: '',
    rollsBack: d.id,
  };
  // The rollback's progress starts from the tasks as they are; the ended
  // deployment keeps the progress it ended with.
  const rollback = { ...draft, progressMark: progressMark(measure(draft, f.tasks, f.now, f.minRunningMs)) };
  return { kind: 'rolledBack', ended: { ...ended(d, f.end, f.now, f.progress, f.why), rollbackId: rollback.id }, app: restored, rollback, why: f.why };
}

/** The mutations a step writes. */
export function mutationsOf(step: DeploymentStep): Mutation[] {
  switch (step.kind) {
    case 'unchanged':
      return [];
    case 'progressed':
    case 'succeeded':
    case 'failed':
      return [{ kind: 'putDeployment', deployment: step.deployment }];
    case 'rolledBack':
      return [
        { kind: 'putDeployment', deployment: step.ended },
        { kind: 'putApp', app: step.app },
        { kind: 'putDeployment', deployment: step.rollback },
      ];
  }
}

/** `d` ended in `state`, keeping the progress it ended with. */
export function ended(d: DeploymentRecord, state: 'SUCCEEDED' | 'FAILED' | 'CANCELED', now: number, p: ProgressRecord, message?: string): DeploymentRecord {
  return { ...d, state, endedAt: now, ...(message !== undefined ? { message } : {}), finalProgress: finalOf(p) };
}

/** Progress of `d` measured on the app's live tasks at `now`. */
export function measure(d: DeploymentRecord, tasks: readonly TaskRecord[], now: number, minRunningMs: number): Progress {
  return progressOf(tasks, { version: configVersionOf(d), instances: d.targetInstances, now, minRunningMs });
}

/** The part of progress clients see (and an ended deployment keeps). */
export function finalOf(p: ProgressRecord): ProgressRecord {
  return {
    newLive: p.newLive,
    newHealthy: p.newHealthy,
    oldRemaining: p.oldRemaining,
    surplusRemaining: p.surplusRemaining,
    healthyTotal: p.healthyTotal,
  };
}
