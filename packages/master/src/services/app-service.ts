/**
 * The app operations every API surface shares (gRPC, Marathon REST):
 * validate, store durably, and start the deployment that carries the change
 * out. Nothing is written unless the whole request is valid, and an app
 * with a deployment in progress takes no other change unless forced.
 *
 * Versions, as in Marathon: every change is a new version and is listed
 * with its spec, a scale included, so the versions show the instance count
 * each change asked for. A scale keeps the tasks, though: they run the
 * configuration version (AppRecord.version, Marathon's lastConfigChangeAt),
 * and the scale's version is recorded beside it (AppRecord.scaledAt,
 * lastScalingAt). A spec deployed without `instances` keeps the current
 * count, as Marathon's PUT does: redeploying the file an app was created
 * from does not undo a scale made since.
 */
import { Code, DroverError, isLive, normalizeAppId, normalizeAppSpec, NotFoundError } from '@drover/common';
import type { App, AppSpec, AppVersion, Deployment } from '@drover/proto';
import type { Clock } from '../model/clock.js';
import { appToProto } from '../convert/to-proto.js';
import type { DeploymentManager } from '../deployments/deployment-manager.js';
import type { DeploymentService } from './deployment-service.js';
import type { EventBus } from '../events/event-bus.js';
import type { LaunchBackoff } from '../tasks/launch-backoff.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { ClusterState } from '../state/cluster-state.js';
import { type AppRecord, currentVersion, type DeploymentRecord, type VersionRecord } from '../model/records.js';
import type { Mutation } from '../model/mutation.js';
import { DEFAULT_MIN_RUNNING_MS } from '../tasks/task-health.js';
import type { TaskKiller } from '../tasks/task-killer.js';

/** Versions kept per app; older ones are pruned (the current one never is). */
export const MAX_VERSIONS_PER_APP = 50;

/** Result of a change. */
export interface ChangeResult {
  readonly app: App;
  readonly created: boolean;
  /** The deployment carrying the change out; absent when nothing changed. */
  readonly deployment?: Deployment;
}

/** App create/read/update/delete, restart, versions and rollback. */
export class AppService {
  constructor(
    private readonly state: ClusterState,
    private readonly orchestrator: Orchestrator,
    private readonly killer: TaskKiller,
    private readonly backoff: LaunchBackoff,
    private readonly deployments: DeploymentManager,
    private readonly deploymentViews: DeploymentService,
    private readonly events: EventBus,
    private readonly clock: Clock,
    /** How long a task without health checks must have run to count as healthy (see task-health.ts). */
    private readonly minRunningMs = DEFAULT_MIN_RUNNING_MS,
  ) {}

  /**
   * Creates or updates an app. A new spec is a new version that replaces
   * the tasks; a new instance count alone is a scale (a version that keeps
   * them). Without `instances` the app keeps its count (1 when new).
   */
  async deploy(input: AppSpec, force = false): Promise<ChangeResult> {
    const existing = this.state.app(normalizeAppId(input.id));
    const spec = normalizeAppSpec(input.instances === undefined && existing ? { ...input, instances: existing.spec.instances } : input);
    if (existing && sameSpec(existing.spec, spec)) return { app: this.view(existing), created: false };
    this.deployments.checkLock(spec.id, force);
    const now = this.clock.now();
    const configChanged = !existing || !sameSpec({ ...existing.spec, instances: spec.instances }, spec);
    const record: AppRecord = !existing || configChanged ? this.newConfig(spec, now, existing) : this.scaled(existing, spec, now);
    const kind = !existing ? 'CREATE' : configChanged ? 'UPDATE' : 'SCALE';
    const deployment = await this.change(record, kind, existing ? currentVersion(existing) : '');
    this.events.publish('api_post_event', { $case: 'app', value: { appId: spec.id, spec, version: currentVersion(record) } });
    return { app: this.view(record), created: !existing, deployment };
  }

  /** One app. */
  get(id: string): App {
    return this.view(this.require(id));
  }

  /** Every app. */
  list(): App[] {
    return this.state.allApps().map((a) => this.view(a));
  }

  /** Changes only the instance count. */
  async scale(id: string, instances: number, force = false): Promise<ChangeResult> {
    if (!Number.isInteger(instances) || instances < 0) {
      throw new DroverError('instances must be a non-negative integer', Code.InvalidArgument);
    }
    const app = this.require(id);
    return this.deploy({ ...app.spec, instances }, force);
  }

  /**
   * Kills some of the app's live tasks and lowers its instance count by as
   * many, in one step (Marathon's task kill with scale=true): both changes
   * reach the state before the orchestrator looks again, so no replacement
   * is started and no other task is picked for the scale-down.
   */
  async killAndScale(id: string, taskIds: readonly string[], force = false): Promise<ChangeResult> {
    const app = this.require(id);
    const wanted = new Set(taskIds);
    const tasks = this.state.liveTasksOfApp(app.spec.id).filter((t) => wanted.has(t.id) && isLive(t.state) && !t.killRequested);
    this.deployments.checkLock(app.spec.id, force);
    const instances = Math.max(0, (app.spec.instances ?? 0) - tasks.length);
    const killed = this.killer.kill(tasks, 'killed on request, scaling the app down');
    const result = await this.deploy({ ...app.spec, instances }, true);
    await killed;
    return result;
  }

  /** Replaces every task, under the app's upgrade strategy (a new version with the same spec). */
  async restart(id: string, force = false): Promise<Deployment> {
    const app = this.require(id);
    this.deployments.checkLock(app.spec.id, force);
    const record = this.newConfig(app.spec, this.clock.now(), app);
    const deployment = await this.change(record, 'RESTART', currentVersion(app));
    this.events.publish('api_post_event', { $case: 'app', value: { appId: app.spec.id, spec: app.spec, version: record.version } });
    return deployment;
  }

  /** Every version of an app, newest first, scales included. */
  versions(id: string): AppVersion[] {
    const app = this.require(id);
    return this.state.versionsOf(app.spec.id).map((v) => ({ version: v.version, spec: v.spec, configVersion: v.configVersion ?? '' }));
  }

  /** One version's spec. */
  version(id: string, version: string): AppSpec {
    const app = this.require(id);
    const found = this.state.version(app.spec.id, version);
    if (!found) throw new NotFoundError('version', `${version} of app ${app.spec.id}`);
    return found.spec;
  }

  /**
   * Deploys an earlier version's spec (by default the one before the
   * current) as a new version. Going back to a version with the current
   * configuration and another instance count (before a scale) is a scale:
   * the tasks stay.
   */
  async rollback(id: string, toVersion = '', force = false): Promise<ChangeResult> {
    const app = this.require(id);
    const from = currentVersion(app);
    const versions = this.state.versionsOf(app.spec.id);
    const target = toVersion === '' ? versions.find((v) => v.version < from) : versions.find((v) => v.version === toVersion);
    if (!target) {
      throw toVersion === ''
        ? new DroverError(`app ${app.spec.id} has no version before ${from}`, Code.FailedPrecondition)
        : new NotFoundError('version', `${toVersion} of app ${app.spec.id}`);
    }
    this.deployments.checkLock(app.spec.id, force);
    const now = this.clock.now();
    const sameConfig = sameSpec({ ...app.spec, instances: target.spec.instances }, target.spec);
    const record = sameConfig ? this.scaled(app, target.spec, now) : this.newConfig(target.spec, now, app);
    const deployment = await this.change(record, 'ROLLBACK', from);
    this.events.publish('api_post_event', { $case: 'app', value: { appId: app.spec.id, spec: target.spec, version: currentVersion(record) } });
    return { app: this.view(record), created: false, deployment };
  }

  /** Removes the app and kills its live tasks; returns how many were asked to stop. */
  async delete(id: string, force = false): Promise<number> {
    const app = this.require(id);
    this.deployments.checkLock(app.spec.id, force);
    const live = this.state.liveTasksOfApp(app.spec.id).filter((t) => isLive(t.state));
    const versions: Mutation[] = this.state.versionsOf(app.spec.id).map((v) => ({ kind: 'deleteVersion', appId: v.appId, version: v.version }));
    await this.state.write([...this.deployments.endForDelete(app.spec.id), { kind: 'deleteApp', id: app.spec.id }, ...versions]);
    this.orchestrator.appChanged(app.spec.id);
    this.backoff.forget(app.spec.id);
    this.events.publish('app_terminated_event', { $case: 'app', value: { appId: app.spec.id, version: app.version } });
    const killed = await this.killer.kill(live, `app ${app.spec.id} was deleted`);
    return killed.length;
  }

  /** A new configuration of an app: a new version its tasks will be replaced with (no scale on top of it yet). */
  private newConfig(spec: AppSpec, now: number, existing: AppRecord | undefined): AppRecord {
    return {
      spec,
      version: newVersion(now, existing ? currentVersion(existing) : undefined),
      createdAt: existing?.createdAt ?? now,
      ...(existing?.lastTaskFailure ? { lastTaskFailure: existing.lastTaskFailure } : {}),
    };
  }

  /** The app with a new instance count: a version of its own that keeps the configuration version (and the tasks). */
  private scaled(app: AppRecord, spec: AppSpec, now: number): AppRecord {
    return { ...app, spec, scaledAt: newVersion(now, currentVersion(app)) };
  }

  /** Writes the app and its new version with the deployment that carries the change out. */
  private async change(record: AppRecord, kind: DeploymentRecord['kind'], fromVersion: string): Promise<Deployment> {
    const started = this.deployments.begin(record, kind, fromVersion);
    const version: VersionRecord = {
      appId: record.spec.id,
      version: currentVersion(record),
      spec: record.spec,
      ...(record.scaledAt !== undefined ? { configVersion: record.version } : {}),
    };
    const mutations: Mutation[] = [{ kind: 'putApp', app: record }, ...started.mutations, { kind: 'putVersion', version }, ...this.pruneVersions(record)];
    await this.state.write(mutations);
    this.deployments.announceStart(started);
    // The hand-off: the orchestrator carries the deployment out from its next pass.
    this.orchestrator.appChanged(record.spec.id);
    return this.deploymentViews.view(started.deployment);
  }

  private pruneVersions(record: AppRecord): Mutation[] {
    const versions = this.state.versionsOf(record.spec.id).filter((v) => v.version !== currentVersion(record));
    return versions.slice(MAX_VERSIONS_PER_APP - 1).map((v) => ({ kind: 'deleteVersion', appId: v.appId, version: v.version }));
  }

  private require(id: string): AppRecord {
    const app = this.state.app(normalizeAppId(id));
    if (!app) throw new NotFoundError('app', normalizeAppId(id));
    return app;
  }

  private view(app: AppRecord): App {
    const now = this.clock.now();
    const running = this.state.runningDeployment(app.spec.id);
    return appToProto(
      app,
      this.state.liveTasksOfApp(app.spec.id),
      this.orchestrator.waitingOf(app.spec.id),
      this.backoff.view(app, now),
      running ? [running.id] : [],
      { now, minRunningMs: this.minRunningMs },
    );
  }
}

function sameSpec(a: AppSpec, b: AppSpec): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/** An ISO timestamp version, strictly after the previous one even within one millisecond. */
function newVersion(now: number, previous?: string): string {
  const prev = previous ? Date.parse(previous) : -Infinity;
  return new Date(Math.max(now, prev + 1)).toISOString();
}
