/**
 * Master records -> the proto messages clients receive. The only place that
 * knows both shapes.
 */
import { isLive, portsAsRanges, type ScalarResources } from '@drover/common';
import {
  type Agent,
  agentStateCodec,
  type App,
  type Resources,
  type Task,
  taskReasonCodec,
  taskStateCodec,
  TaskReason,
  type ResourceUsage,
} from '@drover/proto';
import type { AppWaiting } from '../orchestrator/orchestrator.js';
import type { AgentReservation } from '../orchestrator/agent-usage.js';
import type { AgentRecord, AppRecord, TaskRecord } from '../state/records.js';

function resources(r: ScalarResources, ports: Resources['ports'] = []): Resources {
  return { cpus: r.cpus, mem: r.mem, disk: r.disk, gpus: r.gpus, ports };
}

/** A task for clients. */
export function taskToProto(t: TaskRecord): Task {
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
  };
}

/** An app with its live counts for clients. */
export function appToProto(app: AppRecord, tasks: readonly TaskRecord[], waiting: AppWaiting | undefined): App {
  let running = 0;
  let staged = 0;
  let killing = 0;
  for (const t of tasks) {
    if (!isLive(t.state)) continue;
    if (t.killRequested || t.state === 'KILLING') killing++;
    else if (t.state === 'RUNNING') running++;
    else staged++;
  }
  return {
    spec: app.spec,
    version: app.version,
    status: {
      tasksRunning: running,
      tasksStaged: staged,
      tasksKilling: killing,
      waiting: waiting
        ? {
            waiting: waiting.instances,
            agentsConsidered: waiting.explanation.agentsConsidered,
            rejections: waiting.explanation.rejections.map((r) => ({ ...r })),
            summary: waiting.explanation.summary,
          }
        : undefined,
    },
  };
}

/** An agent for clients. */
export function agentToProto(a: AgentRecord, reservation: AgentReservation, usage: ResourceUsage | undefined, lastSeenAt: number): Agent {
  return {
    id: a.id,
    hostname: a.hostname,
    address: a.address,
    state: agentStateCodec.value(a.state),
    total: resources(a.total, a.ports.map((p) => ({ ...p }))),
    used: resources(reservation.used, portsAsRanges([...reservation.usedPorts])),
    usage,
    attributes: { ...a.attributes },
    registeredAt: new Date(a.registeredAt),
    lastSeenAt: new Date(lastSeenAt),
    tasks: reservation.liveTasks,
    version: a.version,
  };
}
