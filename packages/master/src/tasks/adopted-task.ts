/**
 * A record for a live task that an agent runs but this master has no record
 * of, built from the spec the agent sent with its Register. Registration
 * adopts such tasks only when the master's state is missing part of the
 * cluster's history (a lost store, or one restored from an older backup):
 * they keep running and are accounted on their agent, and `adopted` marks
 * them for operators, who decide (kill them, or deploy their app again).
 */
import { isLive, scalars } from '@drover/common';
import { type TaskSpec, type TaskStatus, healthStateCodec, taskReasonCodec, taskStateCodec } from '@drover/proto';
import type { AgentRecord, TaskRecord } from '../model/records.js';

/** The message adopted tasks carry until their agent reports something newer. */
export const ADOPTED_MESSAGE = 'adopted: its agent runs it but this master had no record of it (lost or older state); left running';

/** The adopted record, or undefined when the status is not of a live task. */
export function adoptedTask(spec: TaskSpec, status: TaskStatus, agent: AgentRecord, now: number): TaskRecord | undefined {
  const state = taskStateCodec.name(status.state);
  if (state === undefined || !isLive(state)) return undefined;
  const health = healthStateCodec.name(status.health);
  const reason = taskReasonCodec.name(status.reason);
  return {
    id: spec.taskId,
    appId: spec.appId,
    appVersion: spec.appVersion,
    agentId: agent.id,
    host: agent.hostname,
    state,
    resources: scalars(spec.resources ?? {}),
    ports: spec.ports.map((p) => ({ number: p.number, name: p.name, protocol: p.protocol })),
    stagedAt: now,
    ...(state === 'RUNNING' ? { startedAt: status.timestamp?.getTime() ?? now } : {}),
    updatedAt: now,
    ...(reason !== undefined ? { reason } : {}),
    message: ADOPTED_MESSAGE,
    ...(status.pid !== 0 ? { pid: status.pid } : {}),
    killRequested: false,
    killGracePeriodSeconds: spec.killGracePeriodSeconds,
    ...(health !== undefined ? { health, healthFailures: status.healthFailures, healthFailed: status.healthFailed } : {}),
    adopted: true,
  };
}
