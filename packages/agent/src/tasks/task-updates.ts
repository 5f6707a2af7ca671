/**
 * The only place a task's state changes.
 *
 * Every change of one task runs through that task's queue (a promise chain),
 * so its updates are made, stored and sent strictly in order even though
 * launches, kills, process exits and acks arrive at any time. A change is
 * checked against the common state machine, written to the status journal
 * first (the journal is what makes delivery at-least-once), then to the
 * task's checkpoint, and only then handed to the session to send.
 *
 * The checkpoint of a task that ended is written without an fsync: its final
 * status is durable in the journal until the master acks it, recovery takes
 * whichever of journal and checkpoint is newer, and the ack removes the
 * checkpoint durably before the journal forgets the status. Every other
 * checkpoint is durable before the step it records is taken (a launch, a
 * kill).
 *
 * Health. Transitions of a RUNNING task's health become status updates
 * through `changeHealth`, a path of their own because RUNNING -> RUNNING is
 * not a state change and must not go through the state machine; past that
 * check they take exactly the road state changes take (the task's queue,
 * journal, checkpoint, send), so they are at-least-once and ordered with the
 * task's other updates.
 */
import {
  IllegalTransitionError,
  isTerminal,
  newId,
  transition,
  type Logger,
  type TaskStateName,
} from '@drover/common';
import { TaskReason, taskReasonCodec, type TaskReasonName, TaskStatus, taskStateCodec } from '@drover/proto';
import { saveTaskCheckpoint } from './task-checkpoint.js';
import type { HealthMonitor, TaskHealth } from '../health/health-monitor.js';
import { healthFields, healthStatusMessage } from '../health/health-status.js';
import { readTail } from '../sandbox/log-tail.js';
import type { StatusJournal } from '../status/status-journal.js';
import type { StateChange } from './state-change.js';
import type { TaskRecord } from './task-record.js';

/** What a TaskUpdates works with. */
export interface TaskUpdatesOptions {
  /** Where updates wait for their ack. */
  readonly journal: StatusJournal;
  /** Receives each update once it is on disk. */
  readonly send: (status: TaskStatus) => void;
  /** The task manager's logger. */
  readonly log: Logger;
  /** True once the manager is closed: queued jobs no longer run. */
  readonly closed: () => boolean;
  /** Starts a RUNNING task's health checks (if it has any). */
  readonly startHealth: (record: TaskRecord) => void;
  /** Stops a task's health checks, keeping the health they last saw. */
  readonly stopHealth: (record: TaskRecord) => void;
}

/** Queues, checks, stores and sends the changes of tasks (see the top of the file). */
export class TaskUpdates {
  constructor(private readonly options: TaskUpdatesOptions) {}

  /** Runs `job` after everything already queued for the task; never rejects. */
  enqueue(record: TaskRecord, job: () => Promise<void>): Promise<void> {
    const { log, closed } = this.options;
    record.queue = record.queue.then(async () => {
      if (closed()) return;
      try {
        await job();
      } catch (e) {
        if (e instanceof IllegalTransitionError) {
          log.warn({ taskId: record.spec.taskId, from: e.from, to: e.to }, 'refused illegal task state change');
        } else {
          log.error({ taskId: record.spec.taskId, err: e }, 'task state change failed');
        }
      }
    });
    return record.queue;
  }

  /** Applies one state change: check, journal, checkpoint, send. Runs inside the task's queue. */
  async change(record: TaskRecord, change: StateChange): Promise<void> {
    const state = transition(record.state, change.state);
    // Leaving RUNNING ends the checks; the status says the health they last saw.
    if (state !== 'RUNNING') this.options.stopHealth(record);
    const status = statusOf(record.spec.taskId, change, record.handle?.pid ?? 0, record.health);
    if (isTerminal(state) && record.hasSandbox) status.stderrTail = await this.stderrTail(record);
    if (state === 'RUNNING') record.runningSince ??= status.timestamp?.getTime() ?? Date.now();
    await this.commit(record, state, status);
    this.options.log.info({ taskId: record.spec.taskId, state, message: change.message }, 'task state changed');
    this.options.send(status);
    if (state === 'RUNNING') this.options.startHealth(record);
  }

  /**
   * Reports a health transition of a RUNNING task (see the top of the file).
   * Runs inside the task's queue; a transition overtaken by a state change
   * (the task is no longer RUNNING, its checks stopped) is dropped, as the
   * newer status already carries it.
   */
  async changeHealth(record: TaskRecord, monitor: HealthMonitor, health: TaskHealth): Promise<void> {
    if (record.state !== 'RUNNING' || record.monitor !== monitor) return;
    record.health = health;
    const change: StateChange = { state: 'RUNNING', message: healthStatusMessage(health) };
    const status = statusOf(record.spec.taskId, change, record.handle?.pid ?? 0, health);
    await this.commit(record, 'RUNNING', status);
    this.options.log.info({ taskId: record.spec.taskId, ...health }, 'task health changed');
    this.options.send(status);
  }

  /** Reports a state for a task the agent does not track (so the master can close it). */
  async reportUntracked(taskId: string, state: TaskStateName, reason: TaskReasonName, message: string): Promise<void> {
    const status = statusOf(taskId, { state, reason, message }, 0, undefined);
    await this.options.journal.append(status);
    this.options.log.info({ taskId, state, reason, message }, 'reported untracked task');
    this.options.send(status);
  }

  /** Journals `status` (from then on it is delivered at least once), then checkpoints the task in `state`. */
  private async commit(record: TaskRecord, state: TaskStateName, status: TaskStatus): Promise<void> {
    const entry = await this.options.journal.append(status);
    record.state = state;
    record.latest = status;
    record.latestSeq = entry.seq;
    if (record.hasSandbox) {
      const checkpoint = {
        spec: record.spec,
        handle: record.handle,
        status,
        statusSeq: entry.seq,
        kill: record.kill,
        runningSince: record.runningSince,
      };
      try {
        await saveTaskCheckpoint(record.sandbox.checkpointPath, checkpoint, { durable: !isTerminal(state) });
      } catch (e) {
        this.options.log.error({ taskId: record.spec.taskId, err: e }, 'cannot write task checkpoint');
      }
    }
    if (isTerminal(state)) record.markEnded();
  }

  /** The end of the task's stderr; empty (and logged) if it cannot be read. */
  private async stderrTail(record: TaskRecord): Promise<Buffer> {
    try {
      return await readTail(record.sandbox.stderrPath);
    } catch (e) {
      this.options.log.warn({ taskId: record.spec.taskId, err: e }, 'cannot read the end of stderr');
      return Buffer.alloc(0);
    }
  }
}

/** A new status update of `taskId` for `change`. */
function statusOf(taskId: string, change: StateChange, pid: number, health: TaskHealth | undefined): TaskStatus {
  return TaskStatus.fromPartial({
    ...healthFields(health),
    uuid: newId(),
    taskId,
    state: taskStateCodec.value(change.state),
    timestamp: new Date(),
    exitCode: change.exitCode,
    signal: change.signal ?? '',
    reason: change.reason === undefined ? TaskReason.TASK_REASON_UNSPECIFIED : taskReasonCodec.value(change.reason),
    message: change.message,
    pid,
  });
}
