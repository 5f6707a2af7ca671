/**
 * The agent's table of tasks and the only place their state changes.
 *
 * Every change of one task runs through that task's queue (a promise chain),
 * so its updates are made, stored and sent strictly in order even though
 * launches, kills, process exits and acks arrive at any time. A change is
 * checked against the common state machine, written to the status journal
 * first (the journal is what makes delivery at-least-once), then to the
 * task's checkpoint, and only then handed to the session to send.
 *
 * Recovery after an agent restart reads the checkpoints back. A crash
 * between the journal write and the checkpoint write leaves the journal one
 * update ahead, so a task's latest status is whichever of the two has the
 * higher journal sequence number. Live tasks are offered to the executor to
 * re-adopt; those whose process is gone end as ENDED_WHILE_AGENT_DOWN (or
 * KILLED, when a kill was under way). A final status that is no longer in
 * the journal (it was acked but the checkpoint outlived the ack, or the
 * journal write was lost) is journaled again: the master may see it twice,
 * never zero times.
 *
 * When the master acks a task's final status, the task is forgotten: its
 * checkpoint goes, its sandbox stays.
 *
 * Health. While a task with health checks is RUNNING, a HealthMonitor runs
 * its checks. Its transitions become status updates through `changeHealth`,
 * a path of their own because RUNNING -> RUNNING is not a state change and
 * must not go through the state machine; past that check they take exactly
 * the road state changes take (the task's queue, journal, checkpoint, send),
 * so they are at-least-once and ordered with the task's other updates. Every
 * status of such a task carries its last known health, so KILLING and the
 * terminal status say how healthy the task was. The monitor starts when the
 * task enters RUNNING (or is re-adopted RUNNING, starting from UNKNOWN
 * again) and stops when it leaves RUNNING or the manager closes.
 */
import {
  DroverError,
  IllegalTransitionError,
  isTerminal,
  newId,
  transition,
  type Logger,
  type TaskStateName,
} from '@drover/common';
import {
  type KillTask,
  TaskReason,
  taskReasonCodec,
  type TaskReasonName,
  type TaskSpec,
  TaskStatus,
  taskStateCodec,
} from '@drover/proto';
import { loadTaskCheckpoints, removeTaskCheckpoint, saveTaskCheckpoint } from '../checkpoint/task-checkpoint.js';
import { type Executor, LaunchError, type TaskHandle } from '../executor/executor.js';
import { taskEnvironment } from '../executor/task-environment.js';
import { Fetcher } from '../fetch/fetcher.js';
import { healthCheckSettings, runHealthCheck } from '../health/health-check.js';
import { HealthMonitor, type TaskHealth, UNKNOWN_HEALTH } from '../health/health-monitor.js';
import { healthFields, healthOfStatus, healthStatusMessage } from '../health/health-status.js';
import { readTail } from '../sandbox/log-tail.js';
import { createSandbox, type Sandbox, sandboxFor } from '../sandbox/sandbox.js';
import type { StatusJournal } from '../status/status-journal.js';
import { endedWhileDown, endOf, type KillRequest, type StateChange } from './state-change.js';

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

interface TaskRecord {
  readonly spec: TaskSpec;
  readonly sandbox: Sandbox;
  state: TaskStateName;
  latest?: TaskStatus;
  latestSeq: number;
  handle?: TaskHandle;
  kill?: KillRequest;
  /** False until the sandbox exists: there is nowhere to checkpoint before. */
  hasSandbox: boolean;
  /** When the task became RUNNING (ms since the epoch); health check timing counts from it. */
  runningSince?: number;
  /** Last known health, stamped on every status; undefined for a task without health checks. */
  health?: TaskHealth;
  /** Runs the health checks while the task is RUNNING. */
  monitor?: HealthMonitor;
  /** Aborts the artifact fetch in progress (set only while fetching). */
  fetching?: AbortController;
  queue: Promise<void>;
  readonly ended: Promise<void>;
  markEnded: () => void;
}

/** The task table: launches, kills, state changes, recovery and forgetting. */
export class TaskManager {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly log: Logger;
  private closed = false;
  private readonly fetcher: Fetcher;

  constructor(private readonly options: TaskManagerOptions) {
    this.log = options.logger.child({ component: 'task-manager' });
    this.fetcher = options.fetcher ?? new Fetcher({ logger: options.logger });
  }

  /** Takes back the tasks checkpointed by an earlier agent; call once, before the first launch. */
  async recover(): Promise<void> {
    const { journal, executor } = this.options;
    const checkpoints = await loadTaskCheckpoints(this.options.tasksDir, this.log);
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
      const record = this.newRecord(cp.spec, sandboxFor(this.options.tasksDir, cp.spec.taskId), {
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
      this.tasks.set(cp.spec.taskId, record);
      if (isTerminal(record.state)) {
        record.markEnded();
        if (!journal.has(latest.uuid)) await journal.append(latest);
        // The previous agent may have stopped before removing what was kept of it.
        this.removeRemains(record);
      } else if (record.handle !== undefined) {
        toAdopt.push(record);
      } else {
        // The agent stopped in the middle of the launch. Whatever it had
        // started (a container, a process in the task's cgroup) is named by
        // no handle, so the executors' recovery removes it below.
        void this.enqueue(record, () =>
          this.change(record, {
            state: 'FAILED',
            reason: 'LAUNCH_FAILED',
            message: 'the agent stopped before the task was started',
          }),
        );
      }
    }
    const alive = await executor.recover(toAdopt.map((r) => r.handle as TaskHandle));
    for (const record of toAdopt) {
      if (alive.has(record.spec.taskId)) {
        this.log.info({ taskId: record.spec.taskId, pid: record.handle?.pid }, 're-adopted task');
        this.watch(record);
        // A kill was under way when the agent stopped: carry it through.
        if (record.kill !== undefined) this.signalKill(record, record.kill.gracePeriodMs);
        else if (record.state === 'RUNNING') this.startHealth(record);
      } else {
        void this.enqueue(record, () => this.change(record, endedWhileDown(record.kill)));
      }
    }
    await Promise.all([...this.tasks.values()].map((r) => r.queue));
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
      await this.reportUntracked(spec.taskId, 'FAILED', 'LAUNCH_FAILED', DroverError.from(e).rawMessage);
      return;
    }
    const record = this.newRecord(spec, sandbox);
    this.tasks.set(spec.taskId, record);
    await this.enqueue(record, () => this.start(record));
  }

  /** Kills a task: KILLING now, KILLED when it ended. Unknown tasks are reported KILLED/UNKNOWN_TO_AGENT. */
  async kill(kill: KillTask): Promise<void> {
    if (this.closed) return;
    const record = this.tasks.get(kill.taskId);
    if (record === undefined) {
      await this.reportUntracked(kill.taskId, 'KILLED', 'UNKNOWN_TO_AGENT', 'agent does not know this task');
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
    await this.enqueue(record, async () => {
      if (isTerminal(record.state)) return;
      const active = record.kill ?? request;
      if (record.state !== 'KILLING') {
        const seconds = request.gracePeriodMs / 1000;
        await this.change(record, {
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
    await this.enqueue(record, async () => {
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
    return [...this.tasks.values()].filter((r) => !isTerminal(r.state)).map((r) => r.spec);
  }

  /** How many tracked tasks are not ended. */
  liveCount(): number {
    return [...this.tasks.values()].filter((r) => !isTerminal(r.state)).length;
  }

  /** Ids of the tracked tasks that have not ended (their logs still grow). */
  liveTaskIds(): string[] {
    return [...this.tasks.values()].filter((r) => !isTerminal(r.state)).map((r) => r.spec.taskId);
  }

  /** 'live' until the task ended, 'ended' while it is still tracked after that, undefined when not tracked. */
  liveness(taskId: string): 'live' | 'ended' | undefined {
    const record = this.tasks.get(taskId);
    if (record === undefined) return undefined;
    return isTerminal(record.state) ? 'ended' : 'live';
  }

  /** Kills every live task (grace periods honoured) and waits until their final statuses are written. */
  async killAll(message: string): Promise<void> {
    const live = [...this.tasks.values()].filter((r) => !isTerminal(r.state));
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
    for (const record of this.tasks.values()) this.stopHealth(record);
    this.options.executor.close();
    this.fetcher.close();
    await Promise.all([...this.tasks.values()].map((r) => r.queue));
  }

  private newRecord(
    spec: TaskSpec,
    sandbox: Sandbox,
    recovered?: Pick<
      TaskRecord,
      'state' | 'latest' | 'latestSeq' | 'handle' | 'kill' | 'hasSandbox' | 'runningSince' | 'health'
    >,
  ): TaskRecord {
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    const initial = recovered ?? {
      state: 'STAGING',
      latestSeq: 0,
      hasSandbox: false,
      health: spec.healthChecks.length > 0 ? UNKNOWN_HEALTH : undefined,
    };
    return { spec, sandbox, ...initial, queue: Promise.resolve(), ended, markEnded };
  }

  private async start(record: TaskRecord): Promise<void> {
    const { spec, sandbox } = record;
    try {
      await createSandbox(sandbox);
      record.hasSandbox = true;
    } catch (e) {
      const message = `cannot create the sandbox: ${DroverError.from(e).rawMessage}`;
      await this.change(record, { state: 'FAILED', reason: 'LAUNCH_FAILED', message });
      return;
    }
    if (record.kill !== undefined) {
      await this.change(record, { state: 'KILLED', reason: record.kill.reason, message: 'killed before it was started' });
      return;
    }
    await this.change(record, { state: 'STARTING', message: 'launching' });
    if (spec.fetch.length > 0 && !(await this.fetchArtifacts(record))) return;
    try {
      record.handle = await this.options.executor.launch({ spec, sandbox, host: this.options.host });
    } catch (e) {
      const reason = e instanceof LaunchError ? e.reason : 'LAUNCH_FAILED';
      await this.change(record, { state: 'FAILED', reason, message: DroverError.from(e).rawMessage });
      return;
    }
    this.watch(record);
    await this.change(record, { state: 'RUNNING', message: `running as pid ${record.handle.pid}` });
  }

  /**
   * Puts the task's artifacts into its sandbox while it is STARTING. False
   * when the task must not start: the fetch failed (FAILED / FETCH_FAILED,
   * with the FetchError's one line), it was killed meanwhile (KILLED), or the
   * agent is stopping (no status: recovery reports the task as never started).
   */
  private async fetchArtifacts(record: TaskRecord): Promise<boolean> {
    const controller = new AbortController();
    record.fetching = controller;
    let failure: string | undefined;
    try {
      await this.fetcher.fetchAll(record.spec.fetch, {
        taskId: record.spec.taskId,
        sandboxDir: record.sandbox.dir,
        signal: controller.signal,
      });
    } catch (e) {
      failure = DroverError.from(e).rawMessage;
    } finally {
      record.fetching = undefined;
    }
    if (this.closed) return false;
    if (record.kill !== undefined) {
      await this.change(record, { state: 'KILLED', reason: record.kill.reason, message: 'killed while fetching its artifacts' });
      return false;
    }
    if (failure !== undefined) {
      await this.change(record, { state: 'FAILED', reason: 'FETCH_FAILED', message: failure });
      return false;
    }
    return true;
  }

  private watch(record: TaskRecord): void {
    const taskId = record.spec.taskId;
    this.options.executor.wait(taskId).then(
      (exit) =>
        this.enqueue(record, async () => {
          if (!isTerminal(record.state)) await this.change(record, endOf(exit, record.kill, record.spec.resources?.mem));
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

  /** Runs `job` after everything already queued for the task; never rejects. */
  private enqueue(record: TaskRecord, job: () => Promise<void>): Promise<void> {
    record.queue = record.queue.then(async () => {
      if (this.closed) return;
      try {
        await job();
      } catch (e) {
        if (e instanceof IllegalTransitionError) {
          this.log.warn({ taskId: record.spec.taskId, from: e.from, to: e.to }, 'refused illegal task state change');
        } else {
          this.log.error({ taskId: record.spec.taskId, err: e }, 'task state change failed');
        }
      }
    });
    return record.queue;
  }

  /** Applies one state change: check, journal, checkpoint, send. Runs inside the task's queue. */
  private async change(record: TaskRecord, change: StateChange): Promise<void> {
    const state = transition(record.state, change.state);
    // Leaving RUNNING ends the checks; the status says the health they last saw.
    if (state !== 'RUNNING') this.stopHealth(record);
    const status = this.statusOf(record.spec.taskId, change, record.handle?.pid ?? 0, record.health);
    if (isTerminal(state) && record.hasSandbox) status.stderrTail = await this.stderrTail(record);
    if (state === 'RUNNING') record.runningSince ??= status.timestamp?.getTime() ?? Date.now();
    await this.commit(record, state, status);
    this.log.info({ taskId: record.spec.taskId, state, message: change.message }, 'task state changed');
    this.options.send(status);
    if (state === 'RUNNING') this.startHealth(record);
  }

  /**
   * Reports a health transition of a RUNNING task: a status whose state stays
   * RUNNING, on the same road as state changes but past the state machine
   * (RUNNING -> RUNNING is not a transition). Runs inside the task's queue;
   * a transition overtaken by a state change (the task is no longer RUNNING,
   * its checks stopped) is dropped, as the newer status already carries it.
   */
  private async changeHealth(record: TaskRecord, monitor: HealthMonitor, health: TaskHealth): Promise<void> {
    if (record.state !== 'RUNNING' || record.monitor !== monitor) return;
    record.health = health;
    const change: StateChange = { state: 'RUNNING', message: healthStatusMessage(health) };
    const status = this.statusOf(record.spec.taskId, change, record.handle?.pid ?? 0, health);
    await this.commit(record, 'RUNNING', status);
    this.log.info({ taskId: record.spec.taskId, ...health }, 'task health changed');
    this.options.send(status);
  }

  /** Journals `status` (from then on it is delivered at least once), then checkpoints the task in `state`. */
  private async commit(record: TaskRecord, state: TaskStateName, status: TaskStatus): Promise<void> {
    const entry = await this.options.journal.append(status);
    record.state = state;
    record.latest = status;
    record.latestSeq = entry.seq;
    if (record.hasSandbox) {
      try {
        await saveTaskCheckpoint(record.sandbox.checkpointPath, {
          spec: record.spec,
          handle: record.handle,
          status,
          statusSeq: entry.seq,
          kill: record.kill,
          runningSince: record.runningSince,
        });
      } catch (e) {
        this.log.error({ taskId: record.spec.taskId, err: e }, 'cannot write task checkpoint');
      }
    }
    if (isTerminal(state)) record.markEnded();
  }

  /** Starts the health checks of a task that is RUNNING, if it has any. Health starts UNKNOWN. */
  private startHealth(record: TaskRecord): void {
    const { spec, sandbox } = record;
    if (spec.healthChecks.length === 0 || record.monitor !== undefined || this.closed) return;
    // Checks run where and as the task runs: its sandbox, its environment,
    // or inside its container when its executor has a runner for that.
    const target = {
      cwd: sandbox.dir,
      env: taskEnvironment(spec, { host: this.options.host, sandboxDir: sandbox.dir }),
      run: this.options.executor.commandRunner?.(spec.taskId),
    };
    const previous = record.health?.health;
    const monitor: HealthMonitor = new HealthMonitor({
      checks: spec.healthChecks.map((check) => healthCheckSettings(check, spec.ports)),
      runningSince: record.runningSince ?? Date.now(),
      // Re-adopted after its failures already counted (it had been healthy,
      // or its grace was over): the restart must not hand out a new grace.
      countFailuresAtOnce: previous === 'HEALTHY' || previous === 'UNHEALTHY',
      probe: (check, signal) => runHealthCheck(check, target, signal),
      report: (health) => void this.enqueue(record, () => this.changeHealth(record, monitor, health)),
      logger: this.log.child({ taskId: spec.taskId }),
    });
    record.monitor = monitor;
    record.health = monitor.current;
    monitor.start();
  }

  /** Stops a task's health checks, keeping the health they last saw. */
  private stopHealth(record: TaskRecord): void {
    const monitor = record.monitor;
    if (monitor === undefined) return;
    monitor.stop();
    record.monitor = undefined;
    record.health = monitor.current;
  }

  /** The end of the task's stderr; empty (and logged) if it cannot be read. */
  private async stderrTail(record: TaskRecord): Promise<Buffer> {
    try {
      return await readTail(record.sandbox.stderrPath);
    } catch (e) {
      this.log.warn({ taskId: record.spec.taskId, err: e }, 'cannot read the end of stderr');
      return Buffer.alloc(0);
    }
  }

  /** Reports a state for a task the agent does not track (so the master can close it). */
  private async reportUntracked(taskId: string, state: TaskStateName, reason: TaskReasonName, message: string) {
    const status = this.statusOf(taskId, { state, reason, message }, 0, undefined);
    await this.options.journal.append(status);
    this.log.info({ taskId, state, reason, message }, 'reported untracked task');
    this.options.send(status);
  }

  private statusOf(taskId: string, change: StateChange, pid: number, health: TaskHealth | undefined): TaskStatus {
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
}
