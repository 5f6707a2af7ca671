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
 * - With an isolator (see isolation/isolation.ts) each task runs in a cgroup
 *   of its own that it joins before its first instruction (a /bin/sh wrapper
 *   joins, then execs the task), with the task's memory, CPU and process
 *   limits. The cgroup's path is kept in the handle, so a re-adopted task is
 *   cleaned up the same way. When the task ends, the cgroup says whether the
 *   kernel OOM-killed it, then everything left in it is killed and it goes.
 * - A task whose spec names a `user` runs as that user (the wrapper drops to
 *   it last, after joining the cgroup) in a sandbox handed to that user.
 */
import { promises as fs } from 'node:fs';
import { Code, DroverError, NotFoundError, type Logger } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import { execa } from 'execa';
import { type Isolator, NoIsolation, type TaskCgroup } from '../isolation/isolation.js';
import { JOIN_FAILED_EXIT_CODE, JOIN_FAILED_PREFIX, programProblem, wrappedCommand, type SwitchUser } from '../isolation/join-wrapper.js';
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
import { killGroupLeftovers, signalGroup } from './process-group.js';
import { SingleFlight } from './single-flight.js';
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
  /** The task's cgroup; undefined without isolation. */
  readonly cgroup: TaskCgroup | undefined;
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
  private readonly isolator: Isolator;
  private readonly identity: AgentIdentity;
  private readonly tasks = new Map<string, Watched>();
  private readonly launching = new SingleFlight<TaskHandle>();
  private closed = false;

  constructor(options: ProcessExecutorOptions) {
    this.log = options.logger.child({ component: 'process-executor' });
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.killPollIntervalMs = options.killPollIntervalMs ?? 100;
    this.agentEnv = options.agentEnv ?? process.env;
    this.isolator = options.isolator ?? new NoIsolation();
    this.identity = options.identity ?? agentIdentity();
  }

  launch(request: LaunchRequest): Promise<TaskHandle> {
    const id = request.spec.taskId;
    const known = this.tasks.get(id);
    if (known !== undefined) return Promise.resolve(known.handle);
    return this.launching.run(id, () => this.spawn(request));
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
        // An adopted task has no child to report its end: look sooner than usual.
        if (w.child === undefined) this.pollSoon(w);
      },
      force: () => this.signal(w, 'SIGKILL'),
      watching: !this.closed,
    });
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
      const cgroup = this.recordedCgroup(handle);
      if (await isProcessAlive(handle.pid, startTime)) {
        this.adopt(handle, startTime, cgroup);
        alive.add(handle.taskId);
      } else {
        await killGroupLeftovers(handle.pid, startTime);
        await this.removeCgroup(handle.taskId, cgroup);
      }
    }
    await this.removeUnknownCgroups(new Set(handles.filter((h) => h.executor === this.name).map((h) => h.taskId)));
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
      clearTimeout(w.poller);
      // Let the agent's process exit while the task keeps running.
      w.child?.unref();
    }
  }

  private async spawn(request: LaunchRequest): Promise<TaskHandle> {
    const { spec, sandbox } = request;
    const [program, ...args] = commandLine(spec);
    const env = taskEnvironment(spec, { host: request.host, sandboxDir: sandbox.dir, agentEnv: this.agentEnv });
    const user = await this.userOf(spec);
    if (user !== undefined) Object.assign(env, userEnvironment(user, spec.env));
    const cgroup = await this.cgroupOf(spec);
    let child: Child;
    let startTime: number | undefined;
    try {
      const argv = await this.argvOf(spec.taskId, [program, ...args], { env, cwd: sandbox.dir, user, cgroup });
      const stdout = await openLog(spec.taskId, sandbox.stdoutPath);
      try {
        const stderr = await openLog(spec.taskId, sandbox.stderrPath);
        try {
          // After the log files exist, so they are the user's too.
          if (user !== undefined) await this.handOver(spec.taskId, sandbox.dir, user);
          child = startProcess(argv[0], argv.slice(1), { cwd: sandbox.dir, env, stdoutFd: stdout.fd, stderrFd: stderr.fd });
          // Before any await: the child cannot have been reaped yet, even if it already exited.
          if (child.pid !== undefined) startTime = readProcStatSync(child.pid)?.startTime;
        } catch (e) {
          if (e instanceof LaunchError) throw e;
          throw new LaunchError(spec.taskId, DroverError.from(e).rawMessage, e);
        } finally {
          // The child holds its own copies from here on.
          await stderr.close();
        }
      } finally {
        await stdout.close();
      }
      if (child.pid === undefined) {
        const result = await child;
        throw new LaunchError(spec.taskId, spawnFailure(result), result.cause);
      }
    } catch (e) {
      await this.removeCgroup(spec.taskId, cgroup);
      throw e;
    }

    const pid = child.pid;
    const details: Record<string, string | number> = {};
    if (startTime !== undefined) details.startTime = startTime;
    if (cgroup !== undefined) details.cgroup = cgroup.path;
    if (user !== undefined) details.user = user.name;
    const handle: TaskHandle = { taskId: spec.taskId, executor: this.name, pid, details };
    const exit = child
      .then(exitOf, () => ({ kind: 'unknown' }) as const)
      .then(async (e) => {
        // Closed: the agent no longer watches, and wait stays pending (interface rule).
        if (this.closed) return new Promise<TaskExit>(() => undefined);
        const final = await this.withOom(watched, await joinFailure(e, cgroup, sandbox.stderrPath));
        await this.ended(watched);
        return final;
      });
    const watched: Watched = { handle, startTime, exit, child, cgroup, ended: false };
    this.tasks.set(spec.taskId, watched);
    this.log.info({ taskId: spec.taskId, pid, program, cgroup: cgroup?.path, user: user?.name }, 'task started');
    return handle;
  }

  /** The user the task runs as (undefined: the agent's); LaunchError when it cannot. */
  private async userOf(spec: TaskSpec): Promise<TaskUser | undefined> {
    try {
      return await taskUser(spec.user, this.identity);
    } catch (e) {
      throw new LaunchError(spec.taskId, DroverError.from(e).rawMessage, e);
    }
  }

  /** Creates the task's cgroup with its limits (undefined without isolation); LaunchError when it cannot. */
  private async cgroupOf(spec: TaskSpec): Promise<TaskCgroup | undefined> {
    try {
      return await this.isolator.create(spec.taskId, this.isolator.limitsOf(spec.resources));
    } catch (e) {
      throw new LaunchError(spec.taskId, `cannot isolate the task: ${DroverError.from(e).rawMessage}`, e);
    }
  }

  /** What to spawn: the task itself, or the wrapper that joins its cgroup and drops to its user first. */
  private async argvOf(
    taskId: string,
    [program, ...args]: [string, ...string[]],
    o: { env: Record<string, string>; cwd: string; user: TaskUser | undefined; cgroup: TaskCgroup | undefined },
  ): Promise<[string, ...string[]]> {
    if (o.cgroup === undefined && o.user === undefined) return [program, ...args];
    const problem = await programProblem(program, o.env.PATH ?? '', o.cwd);
    if (problem !== undefined) throw new LaunchError(taskId, `spawn ${program} ${problem}`);
    let drop: SwitchUser | undefined;
    if (o.user !== undefined) {
      const agentPath = this.agentEnv.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
      const setpriv = agentPath.split(':').map((dir) => `${dir}/setpriv`);
      const found = await firstRunnable(setpriv);
      if (found === undefined) {
        throw new LaunchError(taskId, `cannot run the task as ${o.user.name}: setpriv (util-linux) is not on the agent's PATH`);
      }
      drop = { setpriv: found, uid: o.user.uid, gid: o.user.gid };
    }
    return wrappedCommand(o.cgroup?.procsFiles ?? [], drop, program, args);
  }

  /**
   * Kills and removes this agent's task cgroups that no handle names: what
   * a task left when its checkpoint was lost, or ended with the agent before
   * its cgroup went. The Docker executor does the same for containers.
   */
  private async removeUnknownCgroups(known: ReadonlySet<string>): Promise<void> {
    for (const taskId of await this.isolator.taskIds()) {
      if (known.has(taskId) || this.tasks.has(taskId)) continue;
      this.log.warn({ taskId }, 'removing a task cgroup that no checkpoint knows, with whatever runs in it');
      await this.removeCgroup(taskId, this.isolator.expected(taskId));
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

  /** `exit`, marked as an OOM kill when the kernel OOM-killed in the task's cgroup and the task did not end well. */
  private async withOom(w: Watched, exit: TaskExit): Promise<TaskExit> {
    if (w.cgroup === undefined || exit.kind === 'unknown') return exit;
    if (exit.kind === 'exited' && exit.exitCode === 0) return exit;
    const kills = await w.cgroup.oomKills().catch(() => 0);
    if (kills === 0) return exit;
    this.log.warn({ taskId: w.handle.taskId, oomKills: kills, exit }, 'task went over its memory limit and was OOM-killed');
    return { ...exit, oom: true };
  }

  /** The cgroup a checkpointed handle names, if this agent would have given it to the task. */
  private recordedCgroup(handle: TaskHandle): TaskCgroup | undefined {
    const recorded = handle.details.cgroup;
    if (typeof recorded !== 'string') return undefined;
    const cgroup = this.isolator.reopen(handle.taskId, recorded);
    if (cgroup === undefined) {
      this.log.warn({ taskId: handle.taskId, cgroup: recorded, isolation: this.isolator.kind }, 'not managing the recorded cgroup of the task');
    }
    return cgroup;
  }

  /** Kills what is left in a task's cgroup and removes it; logs instead of throwing. */
  private async removeCgroup(taskId: string, cgroup: TaskCgroup | undefined): Promise<void> {
    if (cgroup === undefined) return;
    try {
      await cgroup.destroy();
    } catch (e) {
      this.log.error({ taskId, cgroup: cgroup.path, err: e }, 'cannot remove the task cgroup');
    }
  }

  private adopt(handle: TaskHandle, startTime: number | undefined, cgroup: TaskCgroup | undefined): void {
    let resolve!: (exit: TaskExit) => void;
    const exit = new Promise<TaskExit>((r) => {
      resolve = r;
    });
    const watched: Watched = { handle, startTime, exit, child: undefined, cgroup, ended: false };
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
    // Also reaches what left the process group (setsid, daemonizing).
    await this.removeCgroup(w.handle.taskId, w.cgroup);
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

/** HOME, USER and LOGNAME of the task's user, where the app's env does not set them. */
function userEnvironment(user: TaskUser, appEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  if (appEnv.HOME === undefined) env.HOME = user.home;
  if (appEnv.USER === undefined) env.USER = user.name;
  if (appEnv.LOGNAME === undefined) env.LOGNAME = user.name;
  return env;
}

/** The first of `files` that exists and may be executed. */
async function firstRunnable(files: readonly string[]): Promise<string | undefined> {
  for (const file of files) {
    if ((await programProblem(file, '', '/')) === undefined) return file;
  }
  return undefined;
}

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

/**
 * `exit`, marked as a task whose program never ran when the join wrapper
 * gave up: its exit code, and its words at the very start of stderr. A
 * program could forge both, but would only relabel its own failure.
 */
async function joinFailure(exit: TaskExit, cgroup: TaskCgroup | undefined, stderrPath: string): Promise<TaskExit> {
  if (cgroup === undefined || exit.kind !== 'exited' || exit.exitCode !== JOIN_FAILED_EXIT_CODE) return exit;
  // The shell's own complaint about the write may come first.
  const head = await readHead(stderrPath, 2048).catch(() => '');
  const line = head.split('\n').slice(0, 3).find((l) => l.startsWith(JOIN_FAILED_PREFIX));
  return line === undefined ? exit : { ...exit, notStarted: `cannot isolate the task: ${line.slice('drover: '.length)}` };
}

/** The first `bytes` of a file, as text. */
async function readHead(file: string, bytes: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The one line a failed spawn says, for example "spawn /nope ENOENT". */
function spawnFailure(result: ChildResult): string {
  if (result.cause instanceof Error) return result.cause.message;
  return result.originalMessage || result.shortMessage || 'cannot start the process';
}
