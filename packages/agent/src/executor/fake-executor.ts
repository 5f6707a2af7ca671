/**
 * An in-memory executor for tests: tasks are scripted by their `cmd` and
 * "run" on a FakeHost that outlives the executors looking at it, so a test
 * can stop one executor and recover the tasks in another, as an agent
 * restart does. It keeps every rule of the Executor interface (it passes the
 * conformance suite), and the host lets a test end a task from outside.
 *
 * Scripts (cmd):
 *   exit N [after MS]   exits with code N (at once, or after MS ms)
 *   sleep               runs until a signal ends it
 *   ignore-term         runs until SIGKILL
 *   die SIGNAL          dies of SIGNAL at once
 *   oom                 is killed for going over its memory limit
 *   fail-launch [WHY]   cannot be started
 */
import { Code, DroverError, NotFoundError } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import {
  type Executor,
  type ExecutorCapabilities,
  type LaunchRequest,
  LaunchError,
  type TaskExit,
  type TaskHandle,
} from './executor.js';
import { killWithDeadline } from './kill-deadline.js';

/** One scripted task on a FakeHost. */
interface FakeProcess {
  readonly pid: number;
  readonly ignoreTerm: boolean;
  exit: TaskExit | undefined;
  readonly listeners: Set<(exit: TaskExit) => void>;
  timer?: NodeJS.Timeout;
}

/** The machine fake tasks run on; shared by the FakeExecutors of one test. */
export class FakeHost {
  private readonly processes = new Map<number, FakeProcess>();
  private nextPid = 1000;

  /** Starts a scripted process; for a script that cannot start, says why. */
  spawn(spec: TaskSpec): FakeProcess | string {
    const [verb = '', ...rest] = spec.cmd.trim().split(/\s+/);
    const p: FakeProcess = { pid: this.nextPid++, ignoreTerm: verb === 'ignore-term', exit: undefined, listeners: new Set() };
    switch (verb) {
      case 'exit': {
        const code = Number(rest[0] ?? '0');
        const after = rest[1] === 'after' ? Number(rest[2] ?? '0') : 0;
        p.timer = setTimeout(() => this.end(p.pid, { kind: 'exited', exitCode: code }), after);
        break;
      }
      case 'die':
        setImmediate(() => this.end(p.pid, { kind: 'signaled', signal: rest[0] ?? 'SIGKILL' }));
        break;
      case 'oom':
        setImmediate(() => this.end(p.pid, { kind: 'signaled', signal: 'SIGKILL', oom: true }));
        break;
      case 'sleep':
      case 'ignore-term':
        break;
      case 'fail-launch':
        return rest.join(' ') || 'the script says it cannot start';
      default:
        return `the fake executor cannot run ${JSON.stringify(spec.cmd)}`;
    }
    this.processes.set(p.pid, p);
    return p;
  }

  /** The process with this pid, if it ever ran here. */
  get(pid: number): FakeProcess | undefined {
    return this.processes.get(pid);
  }

  /** Whether the process runs. */
  isRunning(pid: number): boolean {
    const p = this.processes.get(pid);
    return p !== undefined && p.exit === undefined;
  }

  /** Delivers a signal as the kernel would: SIGTERM is ignored by ignore-term scripts. */
  signal(pid: number, signal: string): void {
    const p = this.processes.get(pid);
    if (p === undefined || p.exit !== undefined) return;
    if (signal === 'SIGTERM' && p.ignoreTerm) return;
    this.end(pid, { kind: 'signaled', signal });
  }

  /** Ends a process from outside (as if it exited on its own). */
  end(pid: number, exit: TaskExit): void {
    const p = this.processes.get(pid);
    if (p === undefined || p.exit !== undefined) return;
    clearTimeout(p.timer);
    p.exit = exit;
    for (const listener of p.listeners) listener(exit);
    p.listeners.clear();
  }

  /** Forgets a process, as if its remains were removed. */
  forget(pid: number): void {
    this.processes.delete(pid);
  }

  /** Ends every process (test cleanup). */
  killAll(): void {
    for (const p of this.processes.values()) this.end(p.pid, { kind: 'signaled', signal: 'SIGKILL' });
  }
}

/** How a FakeExecutor behaves. */
export interface FakeExecutorOptions {
  /** The machine; tasks outlive executors on it. Default a new one. */
  host?: FakeHost;
  /** Name recorded in handles; default "fake". */
  name?: string;
  /** Whether recover re-adopts ended tasks with their exit (as Docker does); default false. */
  exitStatusAfterRecover?: boolean;
}

interface Watched {
  readonly handle: TaskHandle;
  readonly exit: Promise<TaskExit>;
  ended: boolean;
  killDeadline?: number;
  killTimer?: NodeJS.Timeout;
  unsubscribe: () => void;
}

/** Runs scripted tasks on a FakeHost (see the top of the file). */
export class FakeExecutor implements Executor {
  /** Recorded in handles. */
  readonly name: string;
  /** What it pretends to do. */
  readonly capabilities: ExecutorCapabilities;
  /** The machine its tasks run on. */
  readonly host: FakeHost;
  /** Every launch request it got, in order (duplicates included). */
  readonly launches: LaunchRequest[] = [];

  private readonly tasks = new Map<string, Watched>();
  private closed = false;

  constructor(options: FakeExecutorOptions = {}) {
    this.host = options.host ?? new FakeHost();
    this.name = options.name ?? 'fake';
    this.capabilities = { recover: true, exitStatusAfterRecover: options.exitStatusAfterRecover ?? false };
  }

  async launch(request: LaunchRequest): Promise<TaskHandle> {
    this.launches.push(request);
    const taskId = request.spec.taskId;
    const known = this.tasks.get(taskId);
    if (known !== undefined) return known.handle;
    const p = this.host.spawn(request.spec);
    if (typeof p === 'string') throw new LaunchError(taskId, p);
    const handle: TaskHandle = { taskId, executor: this.name, pid: p.pid, details: { fake: 1 } };
    this.watch(handle, p.pid);
    return handle;
  }

  wait(taskId: string): Promise<TaskExit> {
    const w = this.tasks.get(taskId);
    return w === undefined ? Promise.reject(new NotFoundError('task', taskId)) : w.exit;
  }

  kill(taskId: string, gracePeriodMs: number): Promise<TaskExit> {
    const w = this.tasks.get(taskId);
    if (w === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return killWithDeadline(w, gracePeriodMs, {
      terminate: () => this.host.signal(w.handle.pid, 'SIGTERM'),
      force: () => this.host.signal(w.handle.pid, 'SIGKILL'),
      watching: !this.closed,
    });
  }

  async recover(handles: readonly TaskHandle[]): Promise<Set<string>> {
    const adopted = new Set<string>();
    for (const handle of handles) {
      if (handle.executor !== this.name) continue;
      const p = this.host.get(handle.pid);
      const usable = p !== undefined && (p.exit === undefined || this.capabilities.exitStatusAfterRecover);
      if (this.tasks.has(handle.taskId) || usable) {
        if (!this.tasks.has(handle.taskId)) this.watch(handle, handle.pid);
        adopted.add(handle.taskId);
      }
    }
    return adopted;
  }

  async remove(handle: TaskHandle): Promise<void> {
    if (handle.executor !== this.name) return;
    const w = this.tasks.get(handle.taskId);
    if (w !== undefined && !w.ended) {
      throw new DroverError(`task ${handle.taskId} has not ended: kill it first`, Code.FailedPrecondition);
    }
    this.tasks.delete(handle.taskId);
    this.host.forget(handle.pid);
  }

  close(): void {
    this.closed = true;
    for (const w of this.tasks.values()) {
      clearTimeout(w.killTimer);
      w.unsubscribe();
    }
  }

  private watch(handle: TaskHandle, pid: number): void {
    const p = this.host.get(pid);
    let resolve!: (exit: TaskExit) => void;
    const exit = new Promise<TaskExit>((r) => {
      resolve = r;
    });
    const w: Watched = { handle, exit, ended: false, unsubscribe: () => undefined };
    const listener = (e: TaskExit) => {
      if (this.closed) return;
      w.ended = true;
      clearTimeout(w.killTimer);
      resolve(e);
    };
    if (p?.exit !== undefined) listener(p.exit);
    else if (p !== undefined) {
      p.listeners.add(listener);
      w.unsubscribe = () => p.listeners.delete(listener);
    }
    this.tasks.set(handle.taskId, w);
  }
}
