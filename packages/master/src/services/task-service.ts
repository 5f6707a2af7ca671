/**
 * Task queries, kills and one-off runs, shared by every API surface. Ended
 * tasks stay visible for a while (see TaskHistory) so "why did it die" has
 * an answer; instances that have no task yet are listed with the reason.
 */
import {
  Code,
  DroverError,
  isLive,
  isTerminal,
  newTaskId,
  normalizeAppId,
  normalizeAppSpec,
  NotFoundError,
  scalars,
  ValidationError,
} from '@drover/common';
import { AppSpec, PlacementStrategy, type RunTaskRequest, type Task, type WaitingInstances } from '@drover/proto';
import type { Clock } from '../model/clock.js';
import { explanationToProto, taskToProto } from '../convert/to-proto.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { TaskRecord } from '../model/records.js';
import type { TaskKiller } from '../tasks/task-killer.js';

/** Filter for task lists. */
export interface TaskFilter {
  /** Only this app's tasks. */
  appId?: string;
  /** Include ended tasks. */
  includeEnded?: boolean;
}

/** Default resources of a one-off task (`drover run`). */
export const RUN_DEFAULTS = { cpus: 0.1, mem: 32 } as const;

/** Task list/get/kill/run. */
export class TaskService {
  /**
   * Each record's client view, made once. Records are never changed in place
   * (a change puts a new record: model/records.ts), so a view stays right for
   * as long as its record is the current one, and goes with it. Listing every
   * task is what scripts and dashboards poll: in a burst of one-off tasks
   * watched by polling (scripts/bench/launch), listing took a third of the
   * master's CPU, converting each task anew on each poll a third of that.
   * A PENDING task's view is not kept: it says why
   * the task waits, which every pass may change.
   */
  private readonly views = new WeakMap<TaskRecord, Task>();

  constructor(
    private readonly state: ClusterState,
    private readonly killer: TaskKiller,
    private readonly orchestrator: Orchestrator,
    private readonly clock: Clock,
  ) {}

  /**
   * Live tasks first, then ended ones; each by app id then staging time; plus
   * waiting app instances. An app filter that names neither an app nor one
   * of the tasks still remembered (a deleted app's ended ones) is NotFound:
   * an empty list would read as "the app has no tasks" when the id was mistyped.
   */
  list(filter: TaskFilter = {}): { tasks: Task[]; waiting: WaitingInstances[] } {
    const appId = filter.appId ? normalizeAppId(filter.appId) : undefined;
    const source = appId ? this.state.tasksOfApp(appId) : this.state.allTasks();
    if (appId !== undefined && source.length === 0 && !this.state.app(appId)) throw new DroverError(`no app ${appId}`, Code.NotFound);
    const tasks = source
      .filter((t) => filter.includeEnded || isLive(t.state))
      .sort(byLiveAppStaged)
      .map((t) => this.view(t));
    const waiting: WaitingInstances[] = [];
    for (const [id, w] of this.orchestrator.allWaiting()) {
      if (!this.state.app(id) || (appId && id !== appId)) continue;
      waiting.push({ appId: id, instances: w.instances, explanation: explanationToProto(w) });
    }
    return { tasks, waiting: waiting.sort((a, b) => a.appId.localeCompare(b.appId)) };
  }

  /** One task. */
  get(id: string): Task {
    return this.view(this.require(id));
  }

  /** Kills one task; its app (if any) replaces it. A PENDING one-off task is cancelled at once. */
  async kill(id: string): Promise<Task> {
    const task = this.require(id);
    if (!isLive(task.state)) return this.view(task);
    if (task.state === 'PENDING') {
      const now = this.clock.now();
      const cancelled: TaskRecord = { ...task, state: 'KILLED', reason: 'KILL_REQUESTED', message: 'cancelled before it was placed', killRequested: true, endedAt: now, updatedAt: now };
      await this.state.putTasks([cancelled]);
      return this.view(cancelled);
    }
    const [marked] = await this.killer.kill([task], 'killed on request');
    return this.view(marked ?? this.require(id));
  }

  /** Accepts a one-off task (PENDING until placed); never restarted. */
  async run(request: RunTaskRequest): Promise<Task> {
    const spec = runSpecOf(request);
    const now = this.clock.now();
    const task: TaskRecord = {
      id: newTaskId(spec.id),
      appId: '',
      appVersion: '',
      agentId: '',
      host: '',
      state: 'PENDING',
      resources: scalars({ cpus: spec.cpus, mem: spec.mem, disk: spec.disk, gpus: spec.gpus }),
      ports: [],
      stagedAt: now,
      updatedAt: now,
      killRequested: false,
      killGracePeriodSeconds: spec.taskKillGracePeriodSeconds ?? 3,
      runSpec: spec,
    };
    await this.state.putTasks([task]);
    // Answer with the outcome of placement: where it went, or why it waits.
    await this.orchestrator.nextPass();
    return this.view(this.state.task(task.id) ?? task);
  }

  /**
   * Calls `listener` with the task after each change until it ends (the
   * returned function stops earlier). Changes are reported once durable.
   */
  watch(id: string, listener: (task: Task, ended: boolean) => void): () => void {
    const stop = this.state.onTaskChange((_before, after) => {
      if (after?.id !== id) return;
      const ended = isTerminal(after.state);
      // Report after the change is durable: what a client sees survives a crash.
      void this.state.settle().then(() => listener(this.view(after), ended));
      if (ended) stop();
    });
    return stop;
  }

  private view(task: TaskRecord): Task {
    if (task.state === 'PENDING') return taskToProto(task, this.orchestrator.waitingOf(task.id));
    let view = this.views.get(task);
    if (view === undefined) this.views.set(task, (view = taskToProto(task)));
    return view;
  }

  private require(id: string): TaskRecord {
    const task = this.state.task(id);
    if (!task) throw new NotFoundError('task', id);
    return task;
  }
}

/** Validates a one-off request exactly like an app of one instance (same rules, same paths). */
function runSpecOf(request: RunTaskRequest): AppSpec {
  try {
    return normalizeAppSpec(AppSpec.fromPartial({
      id: request.name || 'run',
      cmd: request.cmd,
      args: request.args,
      cpus: request.cpus ?? RUN_DEFAULTS.cpus,
      mem: request.mem ?? RUN_DEFAULTS.mem,
      disk: request.disk,
      gpus: request.gpus,
      instances: 1,
      env: request.env,
      labels: {},
      portDefinitions: request.portDefinitions,
      constraints: request.constraints,
      taskKillGracePeriodSeconds: request.taskKillGracePeriodSeconds,
      placementStrategy: PlacementStrategy.PLACEMENT_STRATEGY_UNSPECIFIED,
    }));
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    // The id of a one-off task comes from its `name`.
    const violations = e.violations.map((v) => (v.path === 'id' ? { ...v, path: 'name' } : v));
    throw new ValidationError(violations, 'invalid task');
  }
}

function byLiveAppStaged(a: TaskRecord, b: TaskRecord): number {
  return Number(isLive(b.state)) - Number(isLive(a.state)) || a.appId.localeCompare(b.appId) || a.stagedAt - b.stagedAt;
}
