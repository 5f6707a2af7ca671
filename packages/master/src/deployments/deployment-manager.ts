/**
 * Deployments: every change to an app (new spec, scale, restart, rollback)
 * is recorded as a deployment that the orchestrator carries out and this
 * manager watches.
 *
 * - Lock: an app has at most one running deployment. Another change is
 *   refused (AppLockedError -> FAILED_PRECONDITION / HTTP 409) unless
 *   forced, which cancels the running one and starts from where it is.
 * - Progress: the deployment progresses when a new-version task becomes
 *   healthy or an old one goes away. It succeeds when the app has exactly
 *   its instances, all at the target version and healthy.
 * - Deadline (beyond Marathon, whose deployments never time out): with no
 *   progress for progressDeadlineSeconds it fails, and the app goes back to
 *   the version it came from. That version's tasks that still run are
 *   current again at once, and the orchestrator's usual rules (keep
 *   minimumHealthCapacity healthy, never more than maximumOverCapacity
 *   extra) bring back the rest. A failed rollback is not rolled back again.
 * - Cancel: rolls back the same way; cancel with force just stops watching,
 *   leaving the app's spec as it is.
 */
import { Code, DroverError, isLive, type Logger, newId, NotFoundError } from '@drover/common';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/event-bus.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AppRecord, DeploymentRecord, TaskRecord } from '../state/records.js';
import type { Mutation } from '../store/store.js';
import { isHealthy } from '../tasks/task-updates.js';
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

/** How far a deployment got, from the app's live tasks. */
export interface Progress {
  readonly newLive: number;
  readonly newHealthy: number;
  readonly oldRemaining: number;
  readonly healthyTotal: number;
  readonly liveTotal: number;
}

/** Measures progress toward `version` from the app's live tasks. */
export function progressOf(tasks: readonly TaskRecord[], version: string): Progress {
  let newLive = 0;
  let newHealthy = 0;
  let oldRemaining = 0;
  let healthyTotal = 0;
  let liveTotal = 0;
  for (const t of tasks) {
    if (!isLive(t.state)) continue;
    liveTotal++;
    const healthy = isHealthy(t);
    if (healthy) healthyTotal++;
    if (t.appVersion === version) {
      if (!t.killRequested) newLive++;
      if (healthy) newHealthy++;
    } else oldRemaining++;
  }
  return { newLive, newHealthy, oldRemaining, healthyTotal, liveTotal };
}

/** Starts, watches, fails, rolls back and cancels deployments. */
export class DeploymentManager {
  constructor(
    private readonly state: ClusterState,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly log: Logger,
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
      version: app.version,
      fromVersion,
      targetInstances: app.spec.instances ?? 0,
      minHealthy: limits.minHealthy,
      maxLive: limits.maxLive,
      progressDeadlineMs: limits.progressDeadlineMs,
      startedAt: now,
      lastProgressAt: now,
      progressMark: mark(progressOf(this.state.liveTasksOfApp(app.spec.id), app.version)),
    };
    let replaced: DeploymentRecord | undefined;
    if (running) {
      replaced = { ...running, state: 'CANCELED', endedAt: now, message: `replaced by deployment ${deployment.id}` };
      mutations.push({ kind: 'putDeployment', deployment: replaced });
    }
    mutations.push({ kind: 'putDeployment', deployment });
    return replaced ? { deployment, replaced, mutations } : { deployment, mutations };
  }

  /** Publishes the start of a deployment `begin` made (and the end of the one it replaced). */
  announce(started: { deployment: DeploymentRecord; replaced?: DeploymentRecord }): void {
    if (started.replaced) this.publish('deployment_failed', started.replaced);
    this.publish('deployment_info', started.deployment);
  }

  /** Checks one app's running deployment against its live tasks; returns the mutations to write. */
  evaluate(app: AppRecord, tasks: readonly TaskRecord[], now: number): { mutations: Mutation[]; wakeInMs?: number } {
    const d = this.state.runningDeployment(app.spec.id);
    if (!d) return { mutations: [] };
    const p = progressOf(tasks, d.version);
    const target = app.spec.instances ?? 0;
    if (p.oldRemaining === 0 && p.newHealthy >= target && p.liveTotal <= target) {
      const done: DeploymentRecord = { ...d, state: 'SUCCEEDED', endedAt: now, lastProgressAt: now, progressMark: mark(p) };
      this.publish('deployment_step_success', done);
      this.publish('deployment_success', done);
      this.log.info({ deploymentId: d.id, appId: d.appId, kind: d.kind }, 'deployment succeeded');
      return { mutations: [{ kind: 'putDeployment', deployment: done }] };
    }
    const m = mark(p);
    if (improved(d.progressMark, p)) {
      return { mutations: [{ kind: 'putDeployment', deployment: { ...d, progressMark: m, lastProgressAt: now } }], wakeInMs: d.progressDeadlineMs };
    }
    const stalledMs = now - d.lastProgressAt;
    if (stalledMs < d.progressDeadlineMs) return { mutations: [], wakeInMs: d.progressDeadlineMs - stalledMs };
    return { mutations: this.fail(app, d, `no progress for ${Math.round(stalledMs / 1000)} s (progress deadline ${d.progressDeadlineMs / 1000} s)`, now) };
  }

  /** Cancels: rolls back, or with force just stops the deployment. */
  async cancel(id: string, force: boolean): Promise<{ canceled: DeploymentRecord; rollback?: DeploymentRecord }> {
    const d = this.state.deployment(id);
    if (!d) throw new NotFoundError('deployment', id);
    if (d.state !== 'RUNNING') throw new DroverError(`deployment ${id} is ${d.state.toLowerCase()}, not running`, Code.FailedPrecondition);
    const app = this.state.app(d.appId);
    const now = this.clock.now();
    if (force || !app) {
      const canceled: DeploymentRecord = { ...d, state: 'CANCELED', endedAt: now, message: 'canceled (forced: no rollback)' };
      await this.state.write([{ kind: 'putDeployment', deployment: canceled }]);
      this.publish('deployment_failed', canceled);
      return { canceled };
    }
    const mutations = this.rollBack(app, d, 'CANCELED', 'canceled: rolling back', now);
    await this.state.write(mutations);
    const canceled = this.state.deployment(id) as DeploymentRecord;
    const rollback = canceled.rollbackId ? this.state.deployment(canceled.rollbackId) : undefined;
    return rollback ? { canceled, rollback } : { canceled };
  }

  /** The mutations that end an app's running deployment because the app is deleted. */
  endForDelete(appId: string): Mutation[] {
    const d = this.state.runningDeployment(appId);
    if (!d) return [];
    const canceled: DeploymentRecord = { ...d, state: 'CANCELED', endedAt: this.clock.now(), message: 'the app was deleted' };
    this.publish('deployment_failed', canceled);
    return [{ kind: 'putDeployment', deployment: canceled }];
  }

  private fail(app: AppRecord, d: DeploymentRecord, why: string, now: number): Mutation[] {
    this.log.warn({ deploymentId: d.id, appId: d.appId, why }, 'deployment failed');
    // A rollback that fails is not rolled back again (that would ping-pong).
    if (d.kind === 'ROLLBACK' || d.fromVersion === '' || d.fromVersion === d.version) {
      const failed: DeploymentRecord = { ...d, state: 'FAILED', endedAt: now, message: why };
      this.publish('deployment_failed', failed);
      return [{ kind: 'putDeployment', deployment: failed }];
    }
    return this.rollBack(app, d, 'FAILED', `${why}; rolling back to ${d.fromVersion}`, now);
  }

  /** Ends `d` and starts a deployment back to its from-version (whose tasks become current again). */
  private rollBack(app: AppRecord, d: DeploymentRecord, end: 'FAILED' | 'CANCELED', why: string, now: number): Mutation[] {
    const previous = this.state.version(d.appId, d.fromVersion);
    if (!previous) {
      const ended: DeploymentRecord = { ...d, state: end, endedAt: now, message: `${why}: version ${d.fromVersion} is no longer stored` };
      this.publish('deployment_failed', ended);
      return [{ kind: 'putDeployment', deployment: ended }];
    }
    const restored: AppRecord = { ...app, spec: previous.spec, version: previous.version };
    const limits = strategyLimits(restored.spec);
    const rollback: DeploymentRecord = {
      id: newId(),
      appId: d.appId,
      kind: 'ROLLBACK',
      state: 'RUNNING',
      version: previous.version,
      fromVersion: d.version,
      targetInstances: restored.spec.instances ?? 0,
      minHealthy: limits.minHealthy,
      maxLive: limits.maxLive,
      progressDeadlineMs: limits.progressDeadlineMs,
      startedAt: now,
      lastProgressAt: now,
      progressMark: mark(progressOf(this.state.liveTasksOfApp(d.appId), previous.version)),
      rollsBack: d.id,
    };
    const ended: DeploymentRecord = { ...d, state: end, endedAt: now, message: why, rollbackId: rollback.id };
    this.publish('deployment_failed', ended);
    this.publish('deployment_info', rollback);
    return [
      { kind: 'putDeployment', deployment: ended },
      { kind: 'putApp', app: restored },
      { kind: 'putDeployment', deployment: rollback },
    ];
  }

  private publish(type: string, d: DeploymentRecord): void {
    this.events.publish(type, { $case: 'deployment', value: { deployment: deploymentToProto(d, this.progressNow(d)) } });
  }

  private progressNow(d: DeploymentRecord): Progress {
    return progressOf(this.state.liveTasksOfApp(d.appId), d.version);
  }
}

function mark(p: Progress): string {
  return `${p.newHealthy}/${p.oldRemaining}`;
}

/** True when `p` is closer to done than the mark: more new healthy, or fewer old. */
function improved(previous: string, p: Progress): boolean {
  const [healthy = 0, old = Infinity] = previous.split('/').map(Number);
  return p.newHealthy > healthy || p.oldRemaining < old;
}
