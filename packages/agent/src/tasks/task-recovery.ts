/**
 * Recovery after an agent restart: the checkpoints are read back. A crash
 * between the journal write and the checkpoint write leaves the journal one
 * update ahead, so a task's latest status is whichever of the two has the
 * higher journal sequence number. Live tasks are offered to the executor to
 * re-adopt; those whose process is gone end as ENDED_WHILE_AGENT_DOWN (or
 * KILLED, when a kill was under way). A final status that is no longer in
 * the journal (it was acked but the checkpoint outlived the ack, or the
 * journal write was lost) is journaled again: the master may see it twice,
 * never zero times.
 */
import { isTerminal, type Logger } from '@drover/common';
import { taskStateCodec } from '@drover/proto';
import { loadTaskCheckpoints } from './task-checkpoint.js';
import type { Executor, TaskHandle } from '../executor/executor.js';
import { healthOfStatus } from '../health/health-status.js';
import { UNKNOWN_HEALTH } from '../health/health-monitor.js';
import { sandboxFor } from '../sandbox/sandbox.js';
import type { StatusJournal } from '../status/status-journal.js';
import { endedWhileDown } from './state-change.js';
import { newRecord, type TaskRecord } from './task-record.js';
import type { TaskUpdates } from './task-updates.js';

/** What recovery works with: the task manager's parts. */
export interface RecoveryContext {
  readonly tasks: Map<string, TaskRecord>;
  readonly tasksDir: string;
  readonly journal: StatusJournal;
  readonly executor: Executor;
  readonly updates: TaskUpdates;
  readonly log: Logger;
  /** Starts watching a re-adopted task for its end. */
  readonly watch: (record: TaskRecord) => void;
  /** Carries on a kill that was under way. */
  readonly signalKill: (record: TaskRecord, gracePeriodMs: number) => void;
  /** Starts the health checks of a re-adopted RUNNING task. */
  readonly startHealth: (record: TaskRecord) => void;
  /** Lets the executor remove what it kept of an ended task. */
  readonly removeRemains: (record: TaskRecord) => void;
}

/** Takes back the tasks checkpointed by an earlier agent (see the top of the file). */
export async function recoverTasks(ctx: RecoveryContext): Promise<void> {
  const { journal, executor, updates, tasks, log } = ctx;
  const checkpoints = await loadTaskCheckpoints(ctx.tasksDir, log);
  journal.advanceSeq(Math.max(0, ...checkpoints.map((c) => c.statusSeq)));
  const toAdopt: TaskRecord[] = [];
  for (const cp of checkpoints) {
    let latest = cp.status;
    let latestSeq = cp.statusSeq;
    const newest = journal.forTask(cp.spec.taskId).at(-1);
    if (newest !== undefined && newest.seq > latestSeq) {
      latest = newest.status;
      latestSeq = newest.seq;
    }
    const state = taskStateCodec.name(latest.state) ?? 'STAGING';
    const record = newRecord(cp.spec, sandboxFor(ctx.tasksDir, cp.spec.taskId), {
      state,
      latest,
      latestSeq,
      handle: cp.handle,
      kill: cp.kill,
      hasSandbox: true,
      // A checkpoint from before runningSince existed, or one a step behind
      // the journal: the RUNNING status's own time is the best left.
      runningSince: cp.runningSince ?? (state === 'RUNNING' ? latest.timestamp?.getTime() : undefined),
      health: healthOfStatus(latest) ?? (cp.spec.healthChecks.length > 0 ? UNKNOWN_HEALTH : undefined),
    });
    tasks.set(cp.spec.taskId, record);
    if (isTerminal(record.state)) {
      record.markEnded();
      if (!journal.has(latest.uuid)) await journal.append(latest);
      // The previous agent may have stopped before removing what was kept of it.
      ctx.removeRemains(record);
    } else if (record.handle !== undefined) {
      toAdopt.push(record);
    } else {
      // The agent stopped in the middle of the launch. Whatever it had
      // started (a container, a process in the task's cgroup) is named by
      // no handle, so the executors' recovery removes it below.
      void updates.enqueue(record, () =>
        updates.change(record, { state: 'FAILED', reason: 'LAUNCH_FAILED', message: 'the agent stopped before the task was started' }),
      );
    }
  }
  const alive = await executor.recover(toAdopt.map((r) => r.handle as TaskHandle));
  for (const record of toAdopt) {
    if (alive.has(record.spec.taskId)) {
      log.info({ taskId: record.spec.taskId, pid: record.handle?.pid }, 're-adopted task');
      ctx.watch(record);
      // A kill was under way when the agent stopped: carry it through.
      if (record.kill !== undefined) ctx.signalKill(record, record.kill.gracePeriodMs);
      else if (record.state === 'RUNNING') ctx.startHealth(record);
    } else {
      void updates.enqueue(record, () => updates.change(record, endedWhileDown(record.kill)));
    }
  }
  await Promise.all([...tasks.values()].map((r) => r.queue));
}
