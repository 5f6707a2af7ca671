/**
 * Deployments: every change to an app (new spec, scale, restart, rollback)
 * is recorded as a deployment that the orchestrator carries out and this
 * manager watches.
 *
 * - Lock: an app has at most one running deployment. Another change is
 *   refused (AppLockedError -> FAILED_PRECONDITION / HTTP 409) unless
 *   forced, which cancels the running one and starts from where it is.
 * - Progress (deployment-progress.ts): the deployment progresses when a
 *   new-version task becomes healthy or a task it no longer wants goes away.
 *   It succeeds when the app has exactly its instances, all at the target
 *   version and healthy. An ended deployment keeps the progress it ended
 *   with: the tasks that come and go later are no longer its business.
 * - Deadline (beyond Marathon, whose deployments never time out): with no
 *   progress for progressDeadlineSeconds it fails, and the app goes back to
 *   the version it came from. That version's tasks that still run are
 *   current again at once, and the orchestrator's usual rules (keep
 *   minimumHealthCapacity healthy, never more than maximumOverCapacity
 *   extra) bring back the rest. A failed rollback is not rolled back again.
 * - Cancel: rolls back the same way; cancel with force just stops watching,
 *   leaving the app's spec as it is.
 */
import { Code, DroverError, type Logger, newId, NotFoundError } from '@drover/common';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/event-bus.js';
import type { ClusterState } from '../state/cluster-state.js';
import { type AppRecord, currentVersion, type DeploymentRecord, type ProgressRecord, type TaskRecord } from '../state/records.js';
import type { Mutation } from '../store/store.js';
import { DEFAULT_MIN_RUNNING_MS } from '../tasks/task-health.js';
import { improvedSince, isComplete, type Progress, progressMark, progressOf } from './deployment-progress.js';
import { deploymentToProto } from './deployment-view.js';
import { strategyLimits } from './strategy.js';

/** A change was refused because a deployment of the app is running. */
export class AppLockedError extends DroverError {
  override name = 'AppLockedError';
  constructor(
    /** The locked app. */
    readonly appId: string,
    /** The deployments holding the lock. */
    readonly deploymentIds: readonly string[],
  ) {
    super(`app ${appId} is locked by deployment ${deploymentIds.join(', ')}; retry when it ends, or force the change`, Code.FailedPrecondition);
  }
}

/** The configuration version whose tasks a deployment counts as new. */
export function configVersionOf(d: DeploymentRecord): string {
  return d.configVersion ?? d.version;
}

/** Starts, watches, fails, rolls back and cancels deployments. */
export class DeploymentManager {
  constructor(
    private readonly state: ClusterState,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** How long a task without health checks must have run to count as healthy (see task-health.ts). */
    private readonly minRunningMs = DEFAULT_MIN_RUNNING_MS,
  ) {}

  /** Throws AppLockedError when the app has a running deployment and the change is not forced. */
  checkLock(appId: string, force: boolean): void {
    const running = this.state.runningDeployment(appId);
    if (running && !force) throw new AppLockedError(appId, [running.id]);
  }

  /**
   * The mutations that start a deployment of `app` (its new record, written
   * in the same batch), canceling a running one (the caller checked the
   * lock or forces).
   */
  begin(
    app: AppRecord,
    kind: DeploymentRecord['kind'],
    fromVersion: string,
  ): { deployment: DeploymentRecord; replaced?: DeploymentRecord; mutations: Mutation[] } {
    const now = this.clock.now();
    const mutations: Mutation[] = [];
    const running = this.state.runningDeployment(app.spec.id);
    const limits = strategyLimits(app.spec);
    const deployment: DeploymentRecord = {
      id: newId(),
      appId: app.spec.id,
      kind,
      state: 'RUNNING',
      version: currentVersion(app),
      configVersion: app.version,
      fromVersion,
      targetInstances: app.spec.instances ?? 0,
      minHealthy: limits.minHealthy,
      maxLive: limits.maxLive,
      progressDeadlineMs: limits.progressDeadlineMs,
      startedAt: now,
      lastProgressAt: now,
      progressMark: '',
    };
    const started = { ...deployment, progressMark: progressMark(this.progress(deployment, now)) };
    let replaced: DeploymentRecord | undefined;
    if (running) {
      replaced = this.ended(running, 'CANCELED', now, `replaced by deployment ${started.id}`);
      mutations.push({ kind: 'putDeployment', deployment: replaced });
    }
    mutations.push({ kind: 'putDeployment', deployment: started });
    return replaced ? { deployment: started, replaced, mutations } : { deployment: started, mutations };
  }

  /** Publishes the start of a deployment `begin` made (and the end of the one it replaced). */
  announce(started: { deployment: DeploymentRecord; replaced?: DeploymentRecord }): void {
    if (started.replaced) this.publish('deployment_failed', started.replaced);
    this.publish('deployment_info', started.deployment);
  }

  /**
   * Where a deployment stands: for a running one, measured on the app's
   * live tasks now; for an ended one, what it ended with (or, for records
   * older than that, measured now).
   */
  progress(d: DeploymentRecord, now = this.clock.now()): ProgressRecord {
    if (d.state !== 'RUNNING' && d.finalProgress) return d.finalProgress;
    return finalOf(this.measure(d, this.state.liveTasksOfApp(d.appId), now));
  }

  /** Checks one app's running deployment against its live tasks; returns the mutations to write. */
  evaluate(app: AppRecord, tasks: readonly TaskRecord[], now: number): { mutations: Mutation[]; wakeInMs?: number } {
    const d = this.state.runningDeployment(app.spec.id);
    if (!d) return { mutations: [] };
    const p = this.measure(d, tasks, now);
    if (isComplete(p, d.targetInstances)) {
      const done = { ...this.ended(d, 'SUCCEEDED', now, undefined, p), lastProgressAt: now, progressMark: progressMark(p) };
      this.publish('deployment_step_success', done);
      this.publish('deployment_success', done);
      this.log.info({ deploymentId: d.id, appId: d.appId, kind: d.kind }, 'deployment succeeded');
      return { mutations: [{ kind: 'putDeployment', deployment: done }] };
    }
    if (improvedSince(d.progressMark, p)) {
      return { mutations: [{ kind: 'putDeployment', deployment: { ...d, progressMark: progressMark(p), lastProgressAt: now } }], wakeInMs: d.progressDeadlineMs };
    }
    // A task that runs but has not run long enough to count is progress in
    // the making, not a stall: a deadline shorter than the min running time
    // must not fail a deployment whose tasks are fine.
    if (p.settledInMs !== undefined) return { mutations: [], wakeInMs: p.settledInMs };
    const stalledMs = now - d.lastProgressAt;
    if (stalledMs < d.progressDeadlineMs) return { mutations: [], wakeInMs: d.progressDeadlineMs - stalledMs };
    return { mutations: this.fail(app, d, p, `no progress for ${Math.round(stalledMs / 1000)} s (progress deadline ${d.progressDeadlineMs / 1000} s)`, now) };
  }

  /** Cancels: rolls back, or with force just stops the deployment. */
  async cancel(id: string, force: boolean): Promise<{ canceled: DeploymentRecord; rollback?: DeploymentRecord }> {
    const d = this.state.deployment(id);
    if (!d) throw new NotFoundError('deployment', id);
    if (d.state !== 'RUNNING') throw new DroverError(`deployment ${id} is ${d.state.toLowerCase()}, not running`, Code.FailedPrecondition);
    const app = this.state.app(d.appId);
    const now = this.clock.now();
    if (force || !app) {
      const canceled = this.ended(d, 'CANCELED', now, 'canceled (forced: no rollback)');
      await this.state.write([{ kind: 'putDeployment', deployment: canceled }]);
      this.publish('deployment_failed', canceled);
      return { canceled };
    }
    const mutations = this.rollBack(app, d, this.progress(d, now), 'CANCELED', 'canceled: rolling back', now);
    await this.state.write(mutations);
    const canceled = this.state.deployment(id) as DeploymentRecord;
    const rollback = canceled.rollbackId ? this.state.deployment(canceled.rollbackId) : undefined;
    return rollback ? { canceled, rollback } : { canceled };
  }

  /** The mutations that end an app's running deployment because the app is deleted. */
  endForDelete(appId: string): Mutation[] {
    const d = this.state.runningDeployment(appId);
    if (!d) return [];
    const canceled = this.ended(d, 'CANCELED', this.clock.now(), 'the app was deleted');
    this.publish('deployment_failed', canceled);
    return [{ kind: 'putDeployment', deployment: canceled }];
  }

  private fail(app: AppRecord, d: DeploymentRecord, p: ProgressRecord, why: string, now: number): Mutation[] {
    this.log.warn({ deploymentId: d.id, appId: d.appId, why }, 'deployment failed');
    // A rollback that fails is not rolled back again (that would ping-pong),
    // and a scale that cannot be carried out keeps asking for its instances
    // (records from before scales had versions of their own say a scale by
    // moving from a version to itself).
    if (d.kind === 'ROLLBACK' || d.kind === 'SCALE' || d.fromVersion === '' || d.fromVersion === d.version) {
      const failed = this.ended(d, 'FAILED', now, why, p);
      this.publish('deployment_failed', failed);
      return [{ kind: 'putDeployment', deployment: failed }];
    }
    return this.rollBack(app, d, p, 'FAILED', `${why}; rolling back to ${d.fromVersion}`, now);
  }

  /**
   * Ends `d` and starts a deployment back to its from-version. That may be
   * a version a scale created: the app then gets back that configuration
   * with that instance count, and the tasks of the configuration are current
   * again at once.
   */
  private rollBack(app: AppRecord, d: DeploymentRecord, p: ProgressRecord, end: 'FAILED' | 'CANCELED', why: string, now: number): Mutation[] {
    const previous = this.state.version(d.appId, d.fromVersion);
    if (!previous) {
      const ended = this.ended(d, end, now, `${why}: version ${d.fromVersion} is no longer stored`, p);
      this.publish('deployment_failed', ended);
      return [{ kind: 'putDeployment', deployment: ended }];
    }
    const { scaledAt: _current, ...rest } = app;
    const restored: AppRecord = {
      ...rest,
      spec: previous.spec,
      version: previous.configVersion ?? previous.version,
      ...(previous.configVersion !== undefined ? { scaledAt: previous.version } : {}),
    };
    const limits = strategyLimits(restored.spec);
    const draft: DeploymentRecord = {
      id: newId(),
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
      startedAt: now,
      lastProgressAt: now,
      progressMark: '',
      rollsBack: d.id,
    };
    const rollback = { ...draft, progressMark: progressMark(this.progress(draft, now)) };
    const ended = { ...this.ended(d, end, now, why, p), rollbackId: rollback.id };
    this.publish('deployment_failed', ended);
    this.publish('deployment_info', rollback);
    return [
      { kind: 'putDeployment', deployment: ended },
      { kind: 'putApp', app: restored },
      { kind: 'putDeployment', deployment: rollback },
    ];
  }

  /** `d` ended in `state`, keeping the progress it ended with (measured now unless given). */
  private ended(d: DeploymentRecord, state: 'SUCCEEDED' | 'FAILED' | 'CANCELED', now: number, message?: string, p: ProgressRecord = this.progress(d, now)): DeploymentRecord {
    return { ...d, state, endedAt: now, ...(message !== undefined ? { message } : {}), finalProgress: finalOf(p) };
  }

  private measure(d: DeploymentRecord, tasks: readonly TaskRecord[], now: number): Progress {
    return progressOf(tasks, { version: configVersionOf(d), instances: d.targetInstances, now, minRunningMs: this.minRunningMs });
  }

  private publish(type: string, d: DeploymentRecord): void {
    this.events.publish(type, { $case: 'deployment', value: { deployment: deploymentToProto(d, this.progress(d)) } });
  }
}

/** The part of progress clients see (and an ended deployment keeps). */
function finalOf(p: ProgressRecord): ProgressRecord {
  return {
    newLive: p.newLive,
    newHealthy: p.newHealthy,
    oldRemaining: p.oldRemaining,
    surplusRemaining: p.surplusRemaining,
    healthyTotal: p.healthyTotal,
  };
}
