/**
 * Runs tasks as plain host processes.
 *
 * - Each task leads its own session and process group (`detached`), so an
 *   agent restart or upgrade kills nothing, and a kill reaches every process
 *   the task forked: SIGTERM to the group, SIGKILL to the group after the
 *   grace period, and SIGKILL to whatever is left once the leader exited.
 * - stdout and stderr are files in the sandbox that the agent opens and hands
 *   over as descriptors. No pipe connects a task to the agent: a pipe would
 *   block the task when the agent stops reading and SIGPIPE it when the agent
 *   dies.
 * - A launched task is the agent's child, so its exit status comes from
 *   execa. A task re-adopted after an agent restart is not (it was reparented
 *   to init), so its end is noticed by polling /proc for its pid and start
 *   time, and its exit status is lost.
 */
import { promises as fs } from 'node:fs';
import { DroverError, NotFoundError, type Logger } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import { execa } from 'execa';
import {
  type Executor,
  type ExecutorCapabilities,
  type LaunchRequest,
  LaunchError,
  type TaskExit,
  type TaskHandle,
} from './executor.js';
import { isProcessAlive, readProcStatSync } from './proc-stat.js';
import { killGroupLeftovers, signalGroup } from './process-group.js';
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
}

/** The program and arguments a spec runs: `cmd` through /bin/sh -c, else `args` directly. */
export function commandLine(spec: TaskSpec): [string, ...string[]] {
  if (spec.cmd !== '') return ['/bin/sh', '-c', spec.cmd];
  const [program, ...rest] = spec.args;
  if (program === undefined || program === '') {
    throw new LaunchError(spec.taskId, 'the task has neither cmd nor args');
  }
  return [program, ...rest];
}

interface Watched {
  readonly handle: TaskHandle;
  readonly startTime: number | undefined;
  readonly exit: Promise<TaskExit>;
  /** Set for a launched task; undefined for a re-adopted one. */
  readonly child: Child | undefined;
  ended: boolean;
  killDeadline?: number;
  killTimer?: NodeJS.Timeout;
  /** Re-adopted tasks only: checks /proc once and re-arms itself. */
  poll?: () => Promise<void>;
  poller?: NodeJS.Timeout;
  polling?: boolean;
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
  private readonly tasks = new Map<string, Watched>();
  private readonly launching = new Map<string, Promise<TaskHandle>>();
  private closed = false;

  constructor(options: ProcessExecutorOptions) {
    this.log = options.logger.child({ component: 'process-executor' });
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.killPollIntervalMs = options.killPollIntervalMs ?? 100;
    this.agentEnv = options.agentEnv ?? process.env;
  }

  launch(request: LaunchRequest): Promise<TaskHandle> {
    const id = request.spec.taskId;
    const known = this.tasks.get(id);
    if (known !== undefined) return Promise.resolve(known.handle);
    let pending = this.launching.get(id);
    if (pending === undefined) {
      pending = this.spawn(request).finally(() => this.launching.delete(id));
      this.launching.set(id, pending);
    }
    return pending;
  }

  wait(taskId: string): Promise<TaskExit> {
    const watched = this.tasks.get(taskId);
    if (watched === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return watched.exit;
  }

  kill(taskId: string, gracePeriodMs: number): Promise<TaskExit> {
    const w = this.tasks.get(taskId);
    if (w === undefined) return Promise.reject(new NotFoundError('task', taskId));
    if (w.ended) return w.exit;
    const deadline = Date.now() + Math.max(0, gracePeriodMs);
    if (w.killDeadline === undefined) {
      w.killDeadline = deadline;
      this.signal(w, 'SIGTERM');
      this.armKillTimer(w);
      if (w.child === undefined) this.pollSoon(w);
    } else if (deadline < w.killDeadline) {
      w.killDeadline = deadline;
      this.armKillTimer(w);
    }
    return w.exit;
  }

  async recover(handles: readonly TaskHandle[]): Promise<Set<string>> {
    const alive = new Set<string>();
    for (const handle of handles) {
      if (handle.executor !== this.name) continue;
      if (this.tasks.has(handle.taskId)) {
        alive.add(handle.taskId);
        continue;
      }
      const startTime = typeof handle.details.startTime === 'number' ? handle.details.startTime : undefined;
      if (await isProcessAlive(handle.pid, startTime)) {
        this.adopt(handle, startTime);
        alive.add(handle.taskId);
      } else {
        await killGroupLeftovers(handle.pid, startTime);
      }
    }
    return alive;
  }

  close(): void {
    this.closed = true;
    for (const w of this.tasks.values()) {
      clearTimeout(w.killTimer);
      clearTimeout(w.poller);
      // Let the agent's process exit while the task keeps running.
      w.child?.unref();
    }
  }

  private async spawn(request: LaunchRequest): Promise<TaskHandle> {
    const { spec, sandbox } = request;
    const [program, ...args] = commandLine(spec);
    const env = taskEnvironment(spec, { host: request.host, sandboxDir: sandbox.dir, agentEnv: this.agentEnv });
    let child: Child;
    let startTime: number | undefined;
    const stdout = await openLog(spec.taskId, sandbox.stdoutPath);
    try {
      const stderr = await openLog(spec.taskId, sandbox.stderrPath);
      try {
        child = startProcess(program, args, { cwd: sandbox.dir, env, stdoutFd: stdout.fd, stderrFd: stderr.fd });
        // Before any await: the child cannot have been reaped yet, even if it already exited.
        if (child.pid !== undefined) startTime = readProcStatSync(child.pid)?.startTime;
      } catch (e) {
        throw new LaunchError(spec.taskId, DroverError.from(e).rawMessage, e);
      } finally {
        // The child holds its own copies from here on.
        await stderr.close();
      }
    } finally {
      await stdout.close();
    }

    const pid = child.pid;
    if (pid === undefined) {
      const result = await child;
      throw new LaunchError(spec.taskId, spawnFailure(result), result.cause);
    }
    const handle: TaskHandle = {
      taskId: spec.taskId,
      executor: this.name,
      pid,
      details: startTime === undefined ? {} : { startTime },
    };
    const exit = child
      .then(exitOf, () => ({ kind: 'unknown' }) as const)
      .then(async (e) => {
        await this.ended(watched);
        return e;
      });
    const watched: Watched = { handle, startTime, exit, child, ended: false };
    this.tasks.set(spec.taskId, watched);
    this.log.info({ taskId: spec.taskId, pid, program }, 'task started');
    return handle;
  }

  private adopt(handle: TaskHandle, startTime: number | undefined): void {
    let resolve!: (exit: TaskExit) => void;
    const exit = new Promise<TaskExit>((r) => {
      resolve = r;
    });
    const watched: Watched = { handle, startTime, exit, child: undefined, ended: false };
    const poll = async (): Promise<void> => {
      watched.polling = true;
      const alive = await isProcessAlive(handle.pid, startTime);
      watched.polling = false;
      if (this.closed || watched.ended) return;
      if (alive) {
        const interval = watched.killDeadline === undefined ? this.pollIntervalMs : this.killPollIntervalMs;
        watched.poller = setTimeout(() => void poll(), interval);
        return;
      }
      await this.ended(watched);
      resolve({ kind: 'unknown' });
    };
    watched.poll = poll;
    watched.poller = setTimeout(() => void poll(), this.pollIntervalMs);
    this.tasks.set(handle.taskId, watched);
    this.log.info({ taskId: handle.taskId, pid: handle.pid }, 'task re-adopted');
  }

  private pollSoon(w: Watched): void {
    if (w.polling || w.poll === undefined || this.closed) return;
    clearTimeout(w.poller);
    const poll = w.poll;
    w.poller = setTimeout(() => void poll(), this.killPollIntervalMs);
  }

  private armKillTimer(w: Watched): void {
    clearTimeout(w.killTimer);
    if (this.closed) return;
    const delay = Math.max(0, (w.killDeadline ?? Date.now()) - Date.now());
    w.killTimer = setTimeout(() => {
      if (!w.ended) this.signal(w, 'SIGKILL');
    }, delay);
  }

  private signal(w: Watched, signal: NodeJS.Signals): void {
    const { taskId, pid } = w.handle;
    // A re-adopted leader may be gone and its pid reused since the last poll.
    if (w.child === undefined) {
      const stat = readProcStatSync(pid);
      if (stat !== undefined && w.startTime !== undefined && stat.startTime !== w.startTime) return;
    }
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
    clearTimeout(w.poller);
    if (this.closed) return;
    try {
      await killGroupLeftovers(w.handle.pid, w.startTime);
    } catch (e) {
      this.log.error({ taskId: w.handle.taskId, err: e }, 'cannot kill what is left of the task process group');
    }
  }
}

interface StartOptions {
  cwd: string;
  env: Record<string, string>;
  stdoutFd: number;
  stderrFd: number;
}

/** Spawns a task's leader: own session, output to the given files, no ties to the agent. */
function startProcess(program: string, args: string[], o: StartOptions) {
  return execa(program, args, {
    cwd: o.cwd,
    env: o.env,
    extendEnv: false,
    stdin: 'ignore',
    // execa's types only list descriptors 3-9, but any descriptor number is
    // handed to child_process.spawn as is (no stream, no pipe).
    stdout: o.stdoutFd as 3,
    stderr: o.stderrFd as 3,
    detached: true,
    cleanup: false,
    reject: false,
  });
}

type Child = ReturnType<typeof startProcess>;

async function openLog(taskId: string, file: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, 'a', 0o644);
  } catch (e) {
    throw new LaunchError(taskId, `cannot open ${file}: ${DroverError.from(e).rawMessage}`, e);
  }
}

type ChildResult = Awaited<Child>;

function exitOf(result: ChildResult): TaskExit {
  if (typeof result.signal === 'string') return { kind: 'signaled', signal: result.signal };
  if (typeof result.exitCode === 'number') return { kind: 'exited', exitCode: result.exitCode };
  return { kind: 'unknown' };
}

/** The one line a failed spawn says, for example "spawn /nope ENOENT". */
function spawnFailure(result: ChildResult): string {
  if (result.cause instanceof Error) return result.cause.message;
  return result.originalMessage || result.shortMessage || 'cannot start the process';
}
