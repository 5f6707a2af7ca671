/**
 * Runs tasks as plain host processes.
 *
 * - Each task leads its own session and process group (`detached`), so an
 *   agent restart or upgrade kills nothing, and a kill reaches every process
 *   the task forked: SIGTERM to the group, SIGKILL to the group after the
 *   grace period, and SIGKILL to whatever is left once the leader exited.
 * - Tasks are started by the spawner (spawner/spawner.ts), a small helper
 *   process whose fork cost does not grow with the agent's memory. It opens
 *   stdout and stderr, files in the sandbox, and hands them to the task as
 *   descriptors. No pipe connects a task to the agent: a pipe would block the
 *   task when the agent stops reading and SIGPIPE it when the agent dies.
 * - A launched task is the spawner's child, so its exit status comes from
 *   the spawner. A task re-adopted after an agent restart is not (it was
 *   reparented to init), nor is one whose spawner died: their end is noticed
 *   by polling /proc for the pid and start time (proc-poller.ts), and their
 *   exit status is lost.
 * - With an isolator (see isolation/isolation.ts) each task runs in a cgroup
 *   of its own that it joins before its first instruction (a /bin/sh wrapper
 *   joins, then execs the task), with the task's memory, CPU and process
 *   limits. The cgroup's path is kept in the handle, so a re-adopted task is
 *   cleaned up the same way. When the task ends, the cgroup says whether the
 *   kernel OOM-killed it, then everything left in it is killed and it goes.
 * - A task whose spec names a `user` runs as that user (the wrapper drops to
 *   it last, after joining the cgroup) in a sandbox handed to that user.
 */
import { Code, DroverError, NotFoundError, type Logger } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import { type Isolator, NoIsolation, type TaskCgroup } from '../isolation/isolation.js';
import { type AgentIdentity, agentIdentity, chownSandbox, type TaskUser, taskUser } from '../isolation/task-user.js';
import {
  type Executor,
  type ExecutorCapabilities,
  type LaunchRequest,
  LaunchError,
  type TaskExit,
  type TaskHandle,
} from './executor.js';
import { killWithDeadline } from './kill-deadline.js';
import { isProcessAlive, readProcStatSync } from './proc-stat.js';
import { ProcPoller } from './proc-poller.js';
import { ProcessCgroups } from './process-cgroups.js';
import { killGroupLeftovers, signalGroup } from './process-group.js';
import { commandLine, createLogs, joinFailure, launchArgv, userEnvironment } from './process-launch.js';
import { SingleFlight } from './single-flight.js';
import { type Spawned, type SpawnedExit, SpawnerDiedError, Spawner, SpawnFailedError } from './spawner/spawner.js';
import { killStrayTask } from './stray-task.js';
import { taskEnvironment } from './task-environment.js';

/** How a ProcessExecutor behaves. */
export interface ProcessExecutorOptions {
  /** Logger (a child named "process-executor" is taken). */
  logger: Logger;
  /** How often a re-adopted task is checked for life; default 1000 ms. */
  pollIntervalMs?: number;
  /** The same while it is being killed; default 100 ms. */
  killPollIntervalMs?: number;
  /** Environment to inherit PATH, LANG, ... from; default process.env. */
  agentEnv?: NodeJS.ProcessEnv;
  /** Puts tasks in cgroups with their limits; default none (tasks run unlimited). */
  isolator?: Isolator;
  /** Who the agent runs as, deciding which task users it may switch to; default this process's user. */
  identity?: AgentIdentity;
}

interface Watched {
  readonly handle: TaskHandle;
  readonly startTime: number | undefined;
  exit: Promise<TaskExit>;
  /** The task's cgroup; undefined without isolation. */
  readonly cgroup: TaskCgroup | undefined;
  ended: boolean;
  killDeadline?: number;
  killTimer?: NodeJS.Timeout;
  /** Set while the end is learnt from /proc: a re-adopted task, or one whose spawner died. */
  poller?: ProcPoller;
}

/** Runs tasks as host processes in their own process groups. */
export class ProcessExecutor implements Executor {
  /** Recorded in handles. */
  readonly name = 'process';
  /** Processes survive the agent; their exit status does not survive a restart. */
  readonly capabilities: ExecutorCapabilities = { recover: true, exitStatusAfterRecover: false };

  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly killPollIntervalMs: number;
  private readonly agentEnv: NodeJS.ProcessEnv;
  private readonly cgroups: ProcessCgroups;
  private readonly identity: AgentIdentity;
  private readonly spawner: Spawner;
  private readonly tasks = new Map<string, Watched>();
  private readonly launching = new SingleFlight<TaskHandle>();
  private closed = false;

  constructor(options: ProcessExecutorOptions) {
    this.log = options.logger.child({ component: 'process-executor' });
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.killPollIntervalMs = options.killPollIntervalMs ?? 100;
    this.agentEnv = options.agentEnv ?? process.env;
    this.cgroups = new ProcessCgroups(options.isolator ?? new NoIsolation(), this.log);
    this.identity = options.identity ?? agentIdentity();
    this.spawner = new Spawner(options.logger);
  }

  /** The pid of the spawner process (started if it does not run); for tests that kill it. */
  get spawnerPid(): number | undefined {
    return this.spawner.pid;
  }

  launch(request: LaunchRequest): Promise<TaskHandle> {
    const id = request.spec.taskId;
    const known = this.tasks.get(id);
    if (known !== undefined) return Promise.resolve(known.handle);
    return this.launching.run(id, () => this.start(request));
  }

  wait(taskId: string): Promise<TaskExit> {
    const watched = this.tasks.get(taskId);
    if (watched === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return watched.exit;
  }

  kill(taskId: string, gracePeriodMs: number): Promise<TaskExit> {
    const w = this.tasks.get(taskId);
    if (w === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return killWithDeadline(w, gracePeriodMs, {
      terminate: () => {
        this.signal(w, 'SIGTERM');
        // Nobody reports the end of a polled task: look sooner than usual.
        w.poller?.soon();
      },
      force: () => this.signal(w, 'SIGKILL'),
      watching: !this.closed,
    });
  }

  async recover(handles: readonly TaskHandle[]): Promise<Set<string>> {
    // Recovery is the agent's start: the spawner starts now, so the first launch does not wait for it.
    this.spawner.warm();
    const alive = new Set<string>();
    for (const handle of handles) {
      if (handle.executor !== this.name) continue;
      if (this.tasks.has(handle.taskId)) {
        alive.add(handle.taskId);
        continue;
      }
      const startTime = typeof handle.details.startTime === 'number' ? handle.details.startTime : undefined;
      const cgroup = this.cgroups.recorded(handle);
      if (await isProcessAlive(handle.pid, startTime)) {
        this.watch(handle, startTime, cgroup, (w) => this.polledExit(w));
        this.log.info({ taskId: handle.taskId, pid: handle.pid }, 'task re-adopted');
        alive.add(handle.taskId);
      } else {
        await killGroupLeftovers(handle.pid, startTime);
        await this.cgroups.remove(handle.taskId, cgroup);
      }
    }
    const known = new Set(handles.filter((h) => h.executor === this.name).map((h) => h.taskId));
    await this.cgroups.removeUnknown((taskId) => known.has(taskId) || this.tasks.has(taskId));
    return alive;
  }

  remove(handle: TaskHandle): Promise<void> {
    const w = this.tasks.get(handle.taskId);
    // Never watched: recovery already removed the task cgroups no live handle names.
    if (w === undefined || handle.executor !== this.name) return Promise.resolve();
    if (!w.ended) {
      return Promise.reject(new DroverError(`task ${handle.taskId} has not ended: kill it first`, Code.FailedPrecondition));
    }
    // Nothing is kept of an ended process: the group's leftovers went when it ended.
    this.tasks.delete(handle.taskId);
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    for (const w of this.tasks.values()) {
      clearTimeout(w.killTimer);
      w.poller?.stop();
    }
    // The spawner exits; the tasks keep running.
    this.spawner.close();
  }

  private async start(request: LaunchRequest): Promise<TaskHandle> {
    const { spec, sandbox } = request;
    const command = commandLine(spec);
    const env = taskEnvironment(spec, { host: request.host, sandboxDir: sandbox.dir, agentEnv: this.agentEnv });
    const user = await this.userOf(spec);
    if (user !== undefined) Object.assign(env, userEnvironment(user, spec.env));
    const cgroup = await this.cgroups.create(spec);
    let spawned: Spawned;
    try {
      const argv = await launchArgv(spec.taskId, command, { env, cwd: sandbox.dir, user, cgroup, agentPath: this.agentEnv.PATH });
      if (user !== undefined) {
        // The log files first, so they are the user's too.
        await createLogs(spec.taskId, [sandbox.stdoutPath, sandbox.stderrPath]);
        await this.handOver(spec.taskId, sandbox.dir, user);
      }
      spawned = await this.spawner.spawn({ argv, cwd: sandbox.dir, env, stdoutPath: sandbox.stdoutPath, stderrPath: sandbox.stderrPath });
    } catch (e) {
      // The spawner may have started the task before it died: nothing of it may be left running.
      if (e instanceof SpawnerDiedError) await killStrayTask(spec.taskId);
      await this.cgroups.remove(spec.taskId, cgroup);
      if (e instanceof LaunchError) throw e;
      if (e instanceof SpawnFailedError || e instanceof SpawnerDiedError) throw new LaunchError(spec.taskId, e.rawMessage, e);
      throw new LaunchError(spec.taskId, DroverError.from(e).rawMessage, e);
    }

    const { pid, startTime } = spawned;
    const details: Record<string, string | number> = {};
    if (startTime !== undefined) details.startTime = startTime;
    if (cgroup !== undefined) details.cgroup = cgroup.path;
    if (user !== undefined) details.user = user.name;
    const handle: TaskHandle = { taskId: spec.taskId, executor: this.name, pid, details };
    this.watch(handle, startTime, cgroup, (w) =>
      spawned.exit.then(async (exit) => {
        // The spawner died first: watch the task as a re-adopted one.
        if (exit.kind === 'orphaned') return this.polledExit(w);
        // Closed: the agent no longer watches, and wait stays pending (interface rule).
        if (this.closed) return new Promise<TaskExit>(() => undefined);
        const final = await this.cgroups.withOom(spec.taskId, cgroup, await joinFailure(taskExitOf(exit), cgroup, sandbox.stderrPath));
        await this.ended(w);
        return final;
      }),
    );
    this.log.info({ taskId: spec.taskId, pid, program: command[0], cgroup: cgroup?.path, user: user?.name }, 'task started');
    return handle;
  }

  /** Starts watching a task; `exitOf` says how its end is learnt. */
  private watch(
    handle: TaskHandle,
    startTime: number | undefined,
    cgroup: TaskCgroup | undefined,
    exitOf: (w: Watched) => Promise<TaskExit>,
  ): void {
    const w: Watched = { handle, startTime, cgroup, ended: false, exit: Promise.resolve({ kind: 'unknown' }) };
    w.exit = exitOf(w);
    this.tasks.set(handle.taskId, w);
  }

  /** Resolves once /proc says the task is gone; its exit status is unknown. */
  private polledExit(w: Watched): Promise<TaskExit> {
    if (this.closed) return new Promise<TaskExit>(() => undefined);
    return new Promise<TaskExit>((resolve) => {
      const intervals = { idleMs: this.pollIntervalMs, killingMs: this.killPollIntervalMs };
      w.poller = new ProcPoller(w.handle.pid, w.startTime, intervals, () => w.killDeadline !== undefined, () => {
        void this.ended(w).then(() => resolve({ kind: 'unknown' }));
      });
      // A kill already under way wants a quick look.
      if (w.killDeadline !== undefined) w.poller.soon();
      else w.poller.start();
    });
  }

  /** The user the task runs as (undefined: the agent's); LaunchError when it cannot. */
  private async userOf(spec: TaskSpec): Promise<TaskUser | undefined> {
    try {
      return await taskUser(spec.user, this.identity);
    } catch (e) {
      throw new LaunchError(spec.taskId, DroverError.from(e).rawMessage, e);
    }
  }

  /** Gives the sandbox to the task's user; LaunchError when it cannot. */
  private async handOver(taskId: string, dir: string, user: TaskUser): Promise<void> {
    try {
      await chownSandbox(dir, user);
    } catch (e) {
      throw new LaunchError(taskId, `cannot give the sandbox to ${user.name}: ${DroverError.from(e).rawMessage}`, e);
    }
  }

  private signal(w: Watched, signal: NodeJS.Signals): void {
    const { taskId, pid } = w.handle;
    // The leader may be gone and its pid reused since its end was last looked at.
    const stat = readProcStatSync(pid);
    if (stat !== undefined && w.startTime !== undefined && stat.startTime !== w.startTime) return;
    try {
      signalGroup(pid, signal);
      this.log.info({ taskId, pid, signal }, 'signalled task process group');
    } catch (e) {
      this.log.error({ taskId, pid, signal, err: e }, 'cannot signal task process group');
    }
  }

  private async ended(w: Watched): Promise<void> {
    w.ended = true;
    clearTimeout(w.killTimer);
    w.poller?.stop();
    if (this.closed) return;
    try {
      await killGroupLeftovers(w.handle.pid, w.startTime);
    } catch (e) {
      this.log.error({ taskId: w.handle.taskId, err: e }, 'cannot kill what is left of the task process group');
    }
    // Also reaches what left the process group (setsid, daemonizing).
    await this.cgroups.remove(w.handle.taskId, w.cgroup);
  }
}

/** The spawner's word on a process's end, as a TaskExit. */
function taskExitOf(exit: Exclude<SpawnedExit, { kind: 'orphaned' }>): TaskExit {
  return exit.kind === 'signaled' ? { kind: 'signaled', signal: exit.signal } : { kind: 'exited', exitCode: exit.exitCode };
}
