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
 *
 * The decisions are pure (deployment-steps.ts); this class reads the state
 * for them, and announces what was decided once it is written. The
 * orchestrator hands each pass's steps to `announce`; the app service hands
 * each new deployment to `begin` and `announceStart`.
 */
import { Code, DroverError, type Logger, newId, NotFoundError } from '@drover/common';
import type { Clock } from '../model/clock.js';
import type { Mutation } from '../model/mutation.js';
import { type AppRecord, currentVersion, type DeploymentRecord, type ProgressRecord } from '../model/records.js';
import type { EventBus } from '../events/event-bus.js';
import type { ClusterState } from '../state/cluster-state.js';
import { DEFAULT_MIN_RUNNING_MS } from '../tasks/task-health.js';
import { progressMark } from './deployment-progress.js';
import { type DeploymentStep, ended, finalOf, measure, mutationsOf, rollBack } from './deployment-steps.js';
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
      replaced = ended(running, 'CANCELED', now, this.progress(running, now), `replaced by deployment ${started.id}`);
      mutations.push({ kind: 'putDeployment', deployment: replaced });
    }
    mutations.push({ kind: 'putDeployment', deployment: started });
    return replaced ? { deployment: started, replaced, mutations } : { deployment: started, mutations };
  }

  /** Publishes the start of a deployment `begin` made (and the end of the one it replaced). */
  announceStart(started: { deployment: DeploymentRecord; replaced?: DeploymentRecord }): void {
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
    return finalOf(measure(d, this.state.liveTasksOfApp(d.appId), now, this.minRunningMs));
  }

  /** Logs and publishes what a step decided; call once its mutations are written. */
  announce(step: DeploymentStep): void {
    switch (step.kind) {
      case 'unchanged':
      case 'progressed':
        return;
      case 'succeeded':
        this.publish('deployment_step_success', step.deployment);
        this.publish('deployment_success', step.deployment);
        this.log.info({ deploymentId: step.deployment.id, appId: step.deployment.appId, kind: step.deployment.kind }, 'deployment succeeded');
        return;
      case 'failed':
        this.log.warn({ deploymentId: step.deployment.id, appId: step.deployment.appId, why: step.why }, `deployment ${step.deployment.state.toLowerCase()}`);
        this.publish('deployment_failed', step.deployment);
        return;
      case 'rolledBack':
        this.log.warn({ deploymentId: step.ended.id, appId: step.ended.appId, why: step.why, rollbackId: step.rollback.id }, `deployment ${step.ended.state.toLowerCase()}; rolling back`);
        this.publish('deployment_failed', step.ended);
        this.publish('deployment_info', step.rollback);
        return;
    }
  }

  /** Cancels: rolls back, or with force just stops the deployment. */
  async cancel(id: string, force: boolean): Promise<{ canceled: DeploymentRecord; rollback?: DeploymentRecord }> {
    const d = this.state.deployment(id);
    if (!d) throw new NotFoundError('deployment', id);
    if (d.state !== 'RUNNING') throw new DroverError(`deployment ${id} is ${d.state.toLowerCase()}, not running`, Code.FailedPrecondition);
    const app = this.state.app(d.appId);
    const now = this.clock.now();
    const tasks = this.state.liveTasksOfApp(d.appId);
    const progress = measure(d, tasks, now, this.minRunningMs);
    const step: DeploymentStep =
      force || !app
        ? { kind: 'failed', deployment: ended(d, 'CANCELED', now, progress, 'canceled (forced: no rollback)'), why: 'canceled (forced: no rollback)' }
        : rollBack({
            deployment: d,
            app,
            tasks,
            fromVersion: this.state.version(d.appId, d.fromVersion),
            now,
            minRunningMs: this.minRunningMs,
            newId,
            progress,
            end: 'CANCELED',
            why: 'canceled: rolling back',
          });
    await this.state.write(mutationsOf(step));
    this.announce(step);
    if (step.kind === 'rolledBack') return { canceled: step.ended, rollback: step.rollback };
    if (step.kind === 'failed') return { canceled: step.deployment };
    throw new DroverError(`cancel of deployment ${id} decided ${step.kind}`, Code.Internal);
  }

  /** The mutations that end an app's running deployment because the app is deleted (announced at once: the delete writes them). */
  endForDelete(appId: string): Mutation[] {
    const d = this.state.runningDeployment(appId);
    if (!d) return [];
    const now = this.clock.now();
    const canceled = ended(d, 'CANCELED', now, this.progress(d, now), 'the app was deleted');
    this.publish('deployment_failed', canceled);
    return [{ kind: 'putDeployment', deployment: canceled }];
  }

  private publish(type: string, d: DeploymentRecord): void {
    this.events.publish(type, { $case: 'deployment', value: { deployment: deploymentToProto(d, this.progress(d)) } });
  }
}
