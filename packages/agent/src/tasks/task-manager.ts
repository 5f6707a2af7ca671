/**
 * The agent's table of tasks: launches, kills, acks and the questions the
 * rest of the agent asks about tasks. Its parts:
 *
 * - task-updates.ts: the only place a task's state changes (the task's
 *   queue, the state machine, journal, checkpoint, send);
 * - task-launch.ts: STAGING to RUNNING;
 * - task-recovery.ts: taking back what an earlier agent left;
 * - task-health.ts: the health checks of RUNNING tasks.
 *
 * When the master acks a task's final status, the task is forgotten: its
 * checkpoint goes (durably, before the journal forgets the status), its
 * sandbox stays.
 */
import { DroverError, isTerminal, type Logger } from '@drover/common';
import { type KillTask, TaskReason, taskReasonCodec, type TaskSpec, type TaskStatus, taskStateCodec } from '@drover/proto';
import { removeTaskCheckpoint } from './task-checkpoint.js';
import type { Executor } from '../executor/executor.js';
import { Fetcher } from '../fetch/fetcher.js';
import { type Sandbox, sandboxFor } from '../sandbox/sandbox.js';
import type { StatusJournal } from '../status/status-journal.js';
import { endOf, type KillRequest } from './state-change.js';
import { TaskHealthChecks } from './task-health.js';
import { TaskLauncher } from './task-launch.js';
import { newRecord, type TaskRecord } from './task-record.js';
import { recoverTasks } from './task-recovery.js';
import { TaskUpdates } from './task-updates.js';

/** Grace period used when neither the KillTask nor the TaskSpec sets one. */
export const DEFAULT_GRACE_PERIOD_MS = 3000;

/** What a TaskManager works with. */
export interface TaskManagerOptions {
  /** Runs the tasks. */
  executor: Executor;
  /** Where updates wait for their ack. */
  journal: StatusJournal;
  /** Parent directory of the task sandboxes. */
  tasksDir: string;
  /** Address tasks are reachable at (HOST). */
  host: string;
  /** Logger (a child named "task-manager" is taken). */
  logger: Logger;
  /** Receives each update once it is on disk; sends it when the session is up. */
  send: (status: TaskStatus) => void;
  /** Puts TaskSpec.fetch artifacts into sandboxes; default one without a cache. */
  fetcher?: Fetcher;
}

/** The task table: launches, kills, state changes, recovery and forgetting. */
export class TaskManager {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly log: Logger;
  private closed = false;
  private readonly fetcher: Fetcher;
  private readonly updates: TaskUpdates;
  private readonly health: TaskHealthChecks;
  private readonly launcher: TaskLauncher;

  constructor(private readonly options: TaskManagerOptions) {
    this.log = options.logger.child({ component: 'task-manager' });
    this.fetcher = options.fetcher ?? new Fetcher({ logger: options.logger });
    const closed = () => this.closed;
    this.health = new TaskHealthChecks({
      executor: options.executor,
      host: options.host,
      log: this.log,
      closed,
      report: (record, monitor, health) => void this.updates.enqueue(record, () => this.updates.changeHealth(record, monitor, health)),
    });
    this.updates = new TaskUpdates({
      journal: options.journal,
      send: options.send,
      log: this.log,
      closed,
      startHealth: (record) => this.health.start(record),
      stopHealth: (record) => this.health.stop(record),
    });
    this.launcher = new TaskLauncher({
      executor: options.executor,
      fetcher: this.fetcher,
      updates: this.updates,
      tasksDir: options.tasksDir,
      host: options.host,
      closed,
      watch: (record) => this.watch(record),
    });
  }

  /** Takes back the tasks checkpointed by an earlier agent; call once, before the first launch. */
  async recover(): Promise<void> {
    await recoverTasks({
      tasks: this.tasks,
      tasksDir: this.options.tasksDir,
      journal: this.options.journal,
      executor: this.options.executor,
      updates: this.updates,
      log: this.log,
      watch: (record) => this.watch(record),
      signalKill: (record, gracePeriodMs) => this.signalKill(record, gracePeriodMs),
      startHealth: (record) => this.health.start(record),
      removeRemains: (record) => this.removeRemains(record),
    });
  }

  /** Starts a task; a task already tracked is not launched again, its latest status is resent. */
  async launch(spec: TaskSpec): Promise<void> {
    if (this.closed) return;
    const existing = this.tasks.get(spec.taskId);
    if (existing !== undefined) {
      this.log.info({ taskId: spec.taskId, state: existing.state }, 'launch of a known task: resending its status');
      if (existing.latest !== undefined) this.options.send(existing.latest);
      return;
    }
    let sandbox: Sandbox;
    try {
      sandbox = sandboxFor(this.options.tasksDir, spec.taskId);
    } catch (e) {
      await this.updates.reportUntracked(spec.taskId, 'FAILED', 'LAUNCH_FAILED', DroverError.from(e).rawMessage);
      return;
    }
    const record = newRecord(spec, sandbox);
    this.tasks.set(spec.taskId, record);
    await this.updates.enqueue(record, () => this.launcher.start(record));
  }

  /** Kills a task: KILLING now, KILLED when it ended. Unknown tasks are reported KILLED/UNKNOWN_TO_AGENT. */
  async kill(kill: KillTask): Promise<void> {
    if (this.closed) return;
    const record = this.tasks.get(kill.taskId);
    if (record === undefined) {
      await this.updates.reportUntracked(kill.taskId, 'KILLED', 'UNKNOWN_TO_AGENT', 'agent does not know this task');
      return;
    }
    if (isTerminal(record.state)) {
      if (record.latest !== undefined) this.options.send(record.latest);
      return;
    }
    const graceSeconds = kill.gracePeriodSeconds > 0 ? kill.gracePeriodSeconds : record.spec.killGracePeriodSeconds;
    const request: KillRequest = {
      reason: taskReasonCodec.name(kill.reason) ?? 'KILL_REQUESTED',
      message: kill.message,
      gracePeriodMs: graceSeconds > 0 ? Math.round(graceSeconds * 1000) : DEFAULT_GRACE_PERIOD_MS,
    };
    // Recorded at once, so a launch still queued ahead of this kill starts nothing.
    record.kill ??= request;
    record.fetching?.abort();
    await this.updates.enqueue(record, async () => {
      if (isTerminal(record.state)) return;
      const active = record.kill ?? request;
      if (record.state !== 'KILLING') {
        const seconds = request.gracePeriodMs / 1000;
        await this.updates.change(record, {
          state: 'KILLING',
          reason: active.reason,
          message: `killing: SIGTERM to the process group, SIGKILL after ${seconds}s`,
        });
      }
      this.signalKill(record, request.gracePeriodMs);
    });
  }

  /** The master stored the update with this uuid; a final one makes the task forgotten. */
  async acknowledge(uuid: string): Promise<void> {
    const entry = await this.options.journal.ack(uuid);
    if (entry === undefined) return;
    const state = taskStateCodec.name(entry.status.state);
    if (state === undefined || !isTerminal(state)) return;
    const taskId = entry.status.taskId;
    const record = this.tasks.get(taskId);
    if (record === undefined) {
      await this.options.journal.dropTask(taskId);
      return;
    }
    await this.updates.enqueue(record, async () => {
      if (this.tasks.get(taskId) !== record) return;
      this.tasks.delete(taskId);
      await removeTaskCheckpoint(record.sandbox.checkpointPath);
      await this.options.journal.dropTask(taskId);
      this.log.info({ taskId }, 'final status acked: task forgotten');
    });
  }

  /** The latest status of every tracked task (live ones and ended ones not yet acked), for Register. */
  latestStatuses(): TaskStatus[] {
    return [...this.tasks.values()].flatMap((r) => (r.latest === undefined ? [] : [r.latest]));
  }

  /** The specs of the tracked tasks that have not ended (sent with Register, for a master that lost its state). */
  liveSpecs(): TaskSpec[] {
    return this.live().map((r) => r.spec);
  }

  /** How many tracked tasks are not ended. */
  liveCount(): number {
    return this.live().length;
  }

  /** Ids of the tracked tasks that have not ended (their logs still grow). */
  liveTaskIds(): string[] {
    return this.live().map((r) => r.spec.taskId);
  }

  /** 'live' until the task ended, 'ended' while it is still tracked after that, undefined when not tracked. */
  liveness(taskId: string): 'live' | 'ended' | undefined {
    const record = this.tasks.get(taskId);
    if (record === undefined) return undefined;
    return isTerminal(record.state) ? 'ended' : 'live';
  }

  /** Kills every live task (grace periods honoured) and waits until their final statuses are written. */
  async killAll(message: string): Promise<void> {
    const live = this.live();
    await Promise.all(
      live.map((r) =>
        this.kill({ taskId: r.spec.taskId, gracePeriodSeconds: 0, reason: TaskReason.TASK_REASON_KILL_REQUESTED, message }),
      ),
    );
    await Promise.all(live.map((r) => r.ended));
  }

  /** Stops changing anything (tasks keep running) and waits for writes in progress. */
  async close(): Promise<void> {
    this.closed = true;
    for (const record of this.tasks.values()) this.health.stop(record);
    this.options.executor.close();
    this.fetcher.close();
    await Promise.all([...this.tasks.values()].map((r) => r.queue));
  }

  private live(): TaskRecord[] {
    return [...this.tasks.values()].filter((r) => !isTerminal(r.state));
  }

  private watch(record: TaskRecord): void {
    const taskId = record.spec.taskId;
    this.options.executor.wait(taskId).then(
      (exit) =>
        this.updates.enqueue(record, async () => {
          if (!isTerminal(record.state)) await this.updates.change(record, endOf(exit, record.kill, record.spec.resources?.mem));
          // The end is on disk: what the executor kept of the task (a stopped container) can go.
          if (isTerminal(record.state)) this.removeRemains(record);
        }),
      (e: unknown) => this.log.error({ taskId, err: e }, 'cannot wait for task'),
    );
  }

  /** Lets the executor remove what it kept of an ended task (a stopped container); failures are only logged. */
  private removeRemains(record: TaskRecord): void {
    const handle = record.handle;
    if (handle === undefined) return;
    this.options.executor.remove(handle).catch((e: unknown) => {
      this.log.warn({ taskId: record.spec.taskId, err: e }, 'cannot remove what is left of the ended task');
    });
  }

  private signalKill(record: TaskRecord, gracePeriodMs: number): void {
    const taskId = record.spec.taskId;
    if (record.handle === undefined) return;
    this.options.executor.kill(taskId, gracePeriodMs).catch((e: unknown) => {
      this.log.error({ taskId, err: e }, 'cannot kill task');
    });
  }
}
