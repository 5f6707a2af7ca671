/**
 * The app operations every API surface shares (gRPC today, Marathon REST
 * next): validate, store durably, and let the orchestrator converge. Nothing
 * is written unless the whole request is valid.
 */
import { Code, DroverError, normalizeAppId, normalizeAppSpec, NotFoundError, isLive } from '@drover/common';
import type { App, AppSpec } from '@drover/proto';
import type { Clock } from '../clock.js';
import { appToProto } from '../convert/to-proto.js';
import type { LaunchBackoff } from '../orchestrator/launch-backoff.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AppRecord } from '../state/records.js';
import type { TaskKiller } from '../tasks/task-killer.js';

/** Result of a deploy. */
export interface DeployResult {
  readonly app: App;
  readonly created: boolean;
}

/** App create/read/update/delete. */
export class AppService {
  constructor(
    private readonly state: ClusterState,
    private readonly orchestrator: Orchestrator,
    private readonly killer: TaskKiller,
    private readonly backoff: LaunchBackoff,
    private readonly clock: Clock,
  ) {}

  /** Creates or updates an app. Only a change of the spec (not just instances) makes a new version. */
  async deploy(input: AppSpec): Promise<DeployResult> {
    const spec = normalizeAppSpec(input);
    const existing = this.state.app(spec.id);
    if (existing && sameSpec(existing.spec, spec)) return { app: this.view(existing), created: false };
    const now = this.clock.now();
    const configChanged = !existing || !sameSpec({ ...existing.spec, instances: spec.instances }, spec);
    const record: AppRecord = {
      spec,
      version: configChanged ? newVersion(now, existing?.version) : (existing?.version ?? newVersion(now)),
      createdAt: existing?.createdAt ?? now,
      ...(existing?.lastTaskFailure ? { lastTaskFailure: existing.lastTaskFailure } : {}),
    };
    await this.state.putApp(record);
    return { app: this.view(record), created: !existing };
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
  async scale(id: string, instances: number): Promise<App> {
    if (!Number.isInteger(instances) || instances < 0) {
      throw new DroverError('instances must be a non-negative integer', Code.InvalidArgument);
    }
    const app = this.require(id);
    const record: AppRecord = { ...app, spec: { ...app.spec, instances } };
    await this.state.putApp(record);
    return this.view(record);
  }

  /** Removes the app and kills its live tasks; returns how many were asked to stop. */
  async delete(id: string): Promise<number> {
    const app = this.require(id);
    const live = this.state.tasksOfApp(app.spec.id).filter((t) => isLive(t.state));
    await this.state.write([{ kind: 'deleteApp', id: app.spec.id }]);
    this.backoff.forget(app.spec.id);
    const killed = await this.killer.kill(live, `app ${app.spec.id} was deleted`);
    return killed.length;
  }

  private require(id: string): AppRecord {
    const app = this.state.app(normalizeAppId(id));
    if (!app) throw new NotFoundError('app', normalizeAppId(id));
    return app;
  }

  private view(app: AppRecord): App {
    const now = this.clock.now();
    return appToProto(app, this.state.tasksOfApp(app.spec.id), this.orchestrator.waitingOf(app.spec.id), this.backoff.view(app, now));
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
