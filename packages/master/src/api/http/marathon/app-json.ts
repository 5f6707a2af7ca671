/**
 * Drover's apps and tasks in Marathon's JSON shapes (GET /v2/apps,
 * /v2/apps/{id}/tasks). The definition part is appSpecToDefinition's, so
 * what a client reads it can send back unchanged (the read-only fields are
 * ignored on input, see marathon-app-input.ts).
 */
import { appSpecToDefinition } from '@drover/common';
import { type App, AppSpec, HealthState, type Task, type TaskFailure, taskStateCodec } from '@drover/proto';

/** A JSON object as sent. */
export type Json = Record<string, unknown>;

/**
 * Marathon fields whose value is fixed in Drover, answered so that clients
 * reading them see the truth: tasks use host networking.
 */
const FIXED_FIELDS = {
  networks: [{ mode: 'host' }],
} as const;

/** One version of an app's definition, as GET /v2/apps/{id}/versions/{version} answers it. */
export function appDefinitionJson(spec: AppSpec, version: string): Json {
  // A non-zero port is a required host port in Drover: say so in Marathon's
  // terms, so the definition posted back means the same.
  const requirePorts = spec.portDefinitions.some((p) => p.port !== 0);
  return { killSelection: 'YOUNGEST_FIRST', ...appSpecToDefinition(spec), requirePorts, ...FIXED_FIELDS, version };
}

/** What an app's JSON may carry besides its definition and counts. */
export interface AppJsonOptions {
  /** Its tasks, already in Marathon's shape (embedded on request). */
  readonly tasks?: readonly Json[];
}

/**
 * An app with its read-only fields (counts, deployments, last failure), as
 * Marathon's AppInfo. As in Marathon, `version` is the latest change, a
 * scale included, and versionInfo tells the two apart (lastScalingAt is the
 * config change itself when there was no scale since).
 */
export function appJson(app: App, options: AppJsonOptions = {}): Json {
  const spec = app.spec ?? AppSpec.fromPartial({});
  const status = app.status;
  const configAt = app.lastConfigChangeAt || app.version;
  const json: Json = {
    ...appDefinitionJson(spec, app.version),
    versionInfo: { lastScalingAt: app.lastScalingAt || configAt, lastConfigChangeAt: configAt },
    tasksStaged: status?.tasksStaged ?? 0,
    tasksRunning: status?.tasksRunning ?? 0,
    tasksHealthy: status?.tasksHealthy ?? 0,
    tasksUnhealthy: status?.tasksUnhealthy ?? 0,
    deployments: (status?.deployments ?? []).map((id) => ({ id })),
  };
  if (status?.lastTaskFailure) json.lastTaskFailure = taskFailureJson(spec.id, status.lastTaskFailure);
  if (options.tasks) json.tasks = options.tasks;
  return json;
}

/** Marathon's lastTaskFailure. */
export function taskFailureJson(appId: string, f: TaskFailure): Json {
  return {
    appId,
    host: f.host,
    message: f.message,
    state: `TASK_${f.state}`,
    taskId: f.taskId,
    timestamp: f.timestamp?.toISOString() ?? null,
    version: f.appVersion,
    slaveId: f.agentId === '' ? null : f.agentId,
  };
}

/** What the task list needs to render health check results. */
export interface TaskHealthContext {
  /** How many health checks the task's app has (0: no results are shown). */
  readonly checks: number;
  /** Consecutive failed checks, as the agent counted them. */
  readonly consecutiveFailures: number;
}

/** A Mesos task state name: TASK_RUNNING, ... (a PENDING one-off task is still staging). */
export function mesosTaskState(task: Pick<Task, 'state'>): string {
  const name = taskStateCodec.name(task.state) ?? 'STAGING';
  return `TASK_${name === 'PENDING' ? 'STAGING' : name}`;
}

/**
 * A task in Marathon's shape. Drover's agents report one health state per
 * task (all checks together), so each of the app's checks gets that same
 * result: "all results alive" means what it means in Marathon.
 */
export function taskJson(task: Task, health?: TaskHealthContext): Json {
  const json: Json = {
    id: task.id,
    appId: task.appId,
    host: task.host,
    ports: task.ports.map((p) => p.number),
    slaveId: task.agentId,
    state: mesosTaskState(task),
    stagedAt: task.stagedAt?.toISOString() ?? null,
    startedAt: task.startedAt?.toISOString() ?? null,
    version: task.appVersion,
  };
  if (health && health.checks > 0) {
    const result = {
      alive: task.health === HealthState.HEALTH_STATE_HEALTHY,
      consecutiveFailures: health.consecutiveFailures,
      firstSuccess: null,
      lastFailure: null,
      lastSuccess: null,
      lastFailureCause: task.healthMessage === '' ? null : task.healthMessage,
      taskId: task.id,
    };
    json.healthCheckResults = Array.from({ length: health.checks }, () => ({ ...result }));
  }
  return json;
}
