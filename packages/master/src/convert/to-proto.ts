/**
 * Master records -> the proto messages clients receive. The only place that
 * knows both shapes.
 */
import { isLive, type PortRange, portsAsRanges, type ScalarResources } from '@drover/common';
import {
  type Agent,
  agentStateCodec,
  type App,
  type PlacementExplanation,
  type Resources,
  type ResourceUsage,
  type Task,
  type TaskFailure,
  TaskReason,
  taskReasonCodec,
  taskStateCodec,
  HealthState,
  healthStateCodec,
} from '@drover/proto';
import { isHealthy } from '../tasks/task-health.js';
import type { BackoffView } from '../tasks/launch-backoff.js';
import { foreignPorts } from '../state/reservations.js';
import type { Waiting } from '../model/waiting.js';
import type { AgentReservation } from '../state/agent-ledger.js';
import { type AgentRecord, type AppRecord, currentVersion, type TaskFailureRecord, type TaskRecord } from '../model/records.js';

function resources(r: ScalarResources, ports: Resources['ports'] = []): Resources {
  return { cpus: r.cpus, mem: r.mem, disk: r.disk, gpus: r.gpus, ports };
}

/** Why instances wait, for clients. */
export function explanationToProto(w: Waiting): PlacementExplanation {
  return {
    waiting: w.instances,
    agentsConsidered: w.explanation.agentsConsidered,
    rejections: w.explanation.rejections.map((r) => ({ ...r })),
    summary: w.explanation.summary,
  };
}

/** A task for clients (`waiting` explains a PENDING one-off task). */
export function taskToProto(t: TaskRecord, waiting?: Waiting): Task {
  return {
    id: t.id,
    appId: t.appId,
    appVersion: t.appVersion,
    agentId: t.agentId,
    host: t.host,
    state: taskStateCodec.value(t.state),
    resources: resources(t.resources, portsAsRanges(t.ports.map((p) => p.number))),
    ports: t.ports.map((p) => ({ ...p })),
    stagedAt: new Date(t.stagedAt),
    startedAt: t.startedAt !== undefined ? new Date(t.startedAt) : undefined,
    endedAt: t.endedAt !== undefined ? new Date(t.endedAt) : undefined,
    exitCode: t.exitCode,
    signal: t.signal ?? '',
    reason: t.reason ? taskReasonCodec.value(t.reason) : TaskReason.TASK_REASON_UNSPECIFIED,
    message: t.message ?? '',
    killRequested: t.killRequested,
    pid: t.pid ?? 0,
    waiting: t.state === 'PENDING' && waiting ? explanationToProto(waiting) : undefined,
    health: t.health ? healthStateCodec.value(t.health) : HealthState.HEALTH_STATE_UNSPECIFIED,
    healthMessage: t.healthMessage ?? '',
    adopted: t.adopted ?? false,
  };
}

function failureToProto(f: TaskFailureRecord): TaskFailure {
  return {
    taskId: f.taskId,
    agentId: f.agentId,
    host: f.host,
    timestamp: new Date(f.timestamp),
    exitCode: f.exitCode,
    signal: f.signal ?? '',
    state: f.state,
    message: f.message,
    stderrTail: f.stderrTail,
    appVersion: f.appVersion,
  };
}

/** When health is judged: the time, and how long a task without health checks must have run (see task-health.ts). */
export interface HealthMoment {
  readonly now: number;
  readonly minRunningMs: number;
}

/** An app with its live counts, backoff, last failure and deployments, for clients. */
export function appToProto(
  app: AppRecord,
  tasks: readonly TaskRecord[],
  waiting: Waiting | undefined,
  backoff: BackoffView,
  deployments: readonly string[],
  at: HealthMoment,
): App {
  let running = 0;
  let staged = 0;
  let killing = 0;
  let healthy = 0;
  let unhealthy = 0;
  for (const t of tasks) {
    if (!isLive(t.state)) continue;
    if (t.killRequested || t.state === 'KILLING') killing++;
    else if (t.state === 'RUNNING') running++;
    else staged++;
    if (isHealthy(t, at.now, at.minRunningMs)) healthy++;
    else if (t.health === 'UNHEALTHY') unhealthy++;
  }
  return {
    spec: app.spec,
    version: currentVersion(app),
    lastConfigChangeAt: app.version,
    lastScalingAt: app.scaledAt ?? '',
    status: {
      tasksRunning: running,
      tasksStaged: staged,
      tasksKilling: killing,
      waiting: waiting ? explanationToProto(waiting) : undefined,
      launchDelaySeconds: backoff.delayMs / 1000,
      nextLaunchAt: backoff.nextLaunchAt !== undefined ? new Date(backoff.nextLaunchAt) : undefined,
      consecutiveFailures: backoff.failures,
      lastTaskFailure: app.lastTaskFailure ? failureToProto(app.lastTaskFailure) : undefined,
      tasksHealthy: healthy,
      tasksUnhealthy: unhealthy,
      deployments: [...deployments],
    },
  };
}

/** An agent for clients; `inUse` is what its machine last reported of the offered ports in use. */
export function agentToProto(
  a: AgentRecord,
  reservation: AgentReservation,
  usage: ResourceUsage | undefined,
  lastSeenAt: number,
  inUse: readonly PortRange[],
): Agent {
  return {
    id: a.id,
    hostname: a.hostname,
    address: a.address,
    state: agentStateCodec.value(a.state),
    total: resources(a.total, a.ports.map((p) => ({ ...p }))),
    used: resources(reservation.used, portsAsRanges([...reservation.ports.keys()].sort((x, y) => x - y))),
    usage,
    attributes: { ...a.attributes },
    registeredAt: new Date(a.registeredAt),
    lastSeenAt: new Date(lastSeenAt),
    tasks: reservation.liveTasks,
    version: a.version,
    draining: a.drainDeadline !== undefined,
    drainDeadline: a.drainDeadline !== undefined ? new Date(a.drainDeadline) : undefined,
    capabilities: [...(a.capabilities ?? [])],
    bootId: a.bootId ?? '',
    foreignPorts: foreignPorts(reservation, inUse),
  };
}
