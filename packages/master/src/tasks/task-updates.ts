/**
 * Pure functions that compute a task's next record. Everything that changes
 * a task's state goes through here, and through the common state machine,
 * so an update arriving twice or out of order can never move a task
 * backwards or out of a terminal state.
 */
import { canTransition, isTerminal, type TaskStateName } from '@drover/common';
import { healthStateCodec, type TaskReasonName, taskReasonCodec, type TaskStatus, taskStateCodec } from '@drover/proto';
import type { TaskRecord } from '../model/records.js';

/**
 * The task after an agent's status update, or undefined when the update
 * changes nothing (a repeat, an older state, or an unknown enum value).
 */
export function applyStatus(task: TaskRecord, status: TaskStatus, now: number): TaskRecord | undefined {
  const to = taskStateCodec.name(status.state);
  if (to === undefined) return undefined;
  // A health update of a live task keeps its state (RUNNING -> RUNNING).
  if (to === task.state) return isTerminal(to) ? undefined : applyHealth(task, status, now);
  if (!canTransition(task.state, to)) return undefined;
  const reason = taskReasonCodec.name(status.reason);
  const withHealth = applyHealth(task, status, now) ?? task;
  return {
    ...(task.state === 'UNREACHABLE' ? reachedAgain(withHealth) : withHealth),
    state: to,
    updatedAt: now,
    ...(to === 'RUNNING' && task.startedAt === undefined ? { startedAt: status.timestamp?.getTime() ?? now } : {}),
    ...(isTerminal(to) ? { endedAt: status.timestamp?.getTime() ?? now } : {}),
    ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
    ...(status.signal !== '' ? { signal: status.signal } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(status.message !== '' ? { message: status.message } : {}),
    ...(status.pid !== 0 ? { pid: status.pid } : {}),
    ...(status.stderrTail.length > 0 ? { stderrTail: status.stderrTail.toString('utf8') } : {}),
  };
}

/**
 * An UNREACHABLE task its agent reports again (a healed partition): what
 * said it was unreachable goes, and the status says the rest.
 */
function reachedAgain(task: TaskRecord): TaskRecord {
  const { unreachableSince: _since, reason: _reason, message: _message, ...rest } = task;
  return rest;
}

/**
 * The task with the health the status reports, or undefined when the health
 * did not change or the status is older than the health already recorded.
 * Statuses of a task can arrive out of order: after a failover an agent
 * registers with each task's latest status, then replays the ones no master
 * acknowledged, oldest first, so "RUNNING, checks not run yet" may come
 * after "HEALTHY". Applied, it would turn a healthy instance into an
 * unknown one until the next check (what Marathon users saw on failover,
 * marathon#3419); the agent's timestamp orders them.
 */
export function applyHealth(task: TaskRecord, status: TaskStatus, now: number): TaskRecord | undefined {
  const health = healthStateCodec.name(status.health);
  if (health === undefined) return undefined;
  const at = status.timestamp?.getTime();
  if (at !== undefined && task.healthAt !== undefined && at < task.healthAt) return undefined;
  const same =
    health === task.health &&
    status.healthFailures === (task.healthFailures ?? 0) &&
    status.healthFailed === (task.healthFailed ?? false) &&
    status.healthMessage === (task.healthMessage ?? '');
  if (same) return undefined;
  return {
    ...task,
    health,
    healthFailures: status.healthFailures,
    healthFailed: status.healthFailed,
    healthMessage: status.healthMessage,
    everHealthy: (task.everHealthy ?? false) || health === 'HEALTHY',
    ...(at !== undefined ? { healthAt: at } : {}),
    updatedAt: now,
  };
}

/** The task ended by the master itself (LOST), or undefined if it already ended. */
export function endByMaster(
  task: TaskRecord,
  state: Extract<TaskStateName, 'LOST' | 'KILLED' | 'FAILED'>,
  reason: TaskReasonName,
  message: string,
  now: number,
): TaskRecord | undefined {
  if (!canTransition(task.state, state)) return undefined;
  return { ...task, state, reason, message, endedAt: now, updatedAt: now };
}

/** The task marked for killing; it stops counting toward its app at once. */
export function markKillRequested(task: TaskRecord, message: string, now: number): TaskRecord {
  return { ...task, killRequested: true, message, updatedAt: now };
}
