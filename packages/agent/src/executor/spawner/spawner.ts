/**
 * The agent's side of the spawner (spawner-main.ts): starts the helper
 * process, sends it spawn requests, and hands out each task's pid, start time
 * and exit.
 *
 * The spawner may die (killed, OOM). The tasks it started do not: they lead
 * their own sessions and are reparented to init. What is lost is the way
 * their exit statuses come back, so on the spawner's death:
 *
 * - every task it had started and not yet reported as ended gets the exit
 *   `{ kind: 'orphaned' }`: the executor watches it from then on as it
 *   watches a task re-adopted after an agent restart (polling /proc for its
 *   pid and start time), and its exit status is unknown;
 * - every spawn request it had not answered fails with SpawnerDiedError. It
 *   may have started the process before it died, so the caller must make
 *   sure no process of that task is left (stray-task.ts);
 * - the next spawn starts a new spawner.
 *
 * Exits are read from the spawner's stdout up to its end before the death is
 * handled, so no exit the spawner managed to report is lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Code, DroverError, type Logger } from '@drover/common';
import { runSpawner } from './spawner-main.js';
import type { SpawnerMessage, SpawnRequestMessage } from './spawner-protocol.js';

/**
 * V8 flags of the spawner: a small heap (it holds one ChildProcess per live
 * task and a line of JSON at a time) keeps its memory, and so the cost of each
 * fork, small and flat.
 */
const SPAWNER_NODE_FLAGS = ['--max-old-space-size=32', '--max-semi-space-size=1'];

/** What to start. */
export interface SpawnRequest {
  /** Program and arguments. */
  readonly argv: readonly [string, ...string[]];
  /** Working directory. */
  readonly cwd: string;
  /** The whole environment. */
  readonly env: Readonly<Record<string, string>>;
  /** File stdout is appended to. */
  readonly stdoutPath: string;
  /** File stderr is appended to. */
  readonly stderrPath: string;
}

/** How a spawned process ended, as the spawner saw it. */
export type SpawnedExit =
  | { readonly kind: 'exited'; readonly exitCode: number }
  | { readonly kind: 'signaled'; readonly signal: string }
  /** The spawner died before the process ended: it runs on (or ended unseen), and its exit status is lost. */
  | { readonly kind: 'orphaned' };

/** A started process. */
export interface Spawned {
  /** Its pid; it leads its own session and process group. */
  readonly pid: number;
  /** Its start time in clock ticks after boot, to tell it from a later process with the same pid. */
  readonly startTime: number | undefined;
  /** Resolves once it ended (or once the spawner died). */
  readonly exit: Promise<SpawnedExit>;
}

/** Nothing was started: a log file could not be opened, or spawn itself failed. */
export class SpawnFailedError extends DroverError {
  override name = 'SpawnFailedError';
  constructor(
    /** Where it failed. */
    readonly stage: 'open' | 'spawn',
    /** One line, e.g. "spawn /nope ENOENT" or "cannot open /x/stdout: ...". */
    message: string,
  ) {
    super(message, Code.FailedPrecondition);
  }
}

/** The spawner died before it answered: the process may or may not have been started. */
export class SpawnerDiedError extends DroverError {
  override name = 'SpawnerDiedError';
  constructor() {
    super('the spawner process stopped while starting the task', Code.Unavailable);
  }
}

interface Pending {
  resolve: (spawned: Spawned) => void;
  reject: (e: Error) => void;
}

/** One running spawner process and what it owes the agent. */
interface Session {
  readonly child: ChildProcess;
  readonly pending: Map<number, Pending>;
  /** Exits not reported yet, by pid. */
  readonly running: Map<number, (exit: SpawnedExit) => void>;
}

/** Starts task processes through a long-lived helper process (see the top of the file). */
export class Spawner {
  private readonly log: Logger;
  private session: Session | undefined;
  private nextId = 1;
  private closed = false;

  constructor(logger: Logger) {
    this.log = logger.child({ component: 'spawner' });
  }

  /** The helper's pid (it is started if it does not run). */
  get pid(): number | undefined {
    return this.current().child.pid;
  }

  /** Starts the helper ahead of the first spawn, so that one does not wait for it. */
  warm(): void {
    if (!this.closed) this.current();
  }

  /** Starts a process; rejects with SpawnFailedError (nothing started) or SpawnerDiedError (unknown). */
  spawn(request: SpawnRequest): Promise<Spawned> {
    if (this.closed) return Promise.reject(new DroverError('the spawner is closed', Code.FailedPrecondition));
    const session = this.current();
    const id = this.nextId++;
    const message: SpawnRequestMessage = {
      id,
      argv: request.argv,
      cwd: request.cwd,
      env: request.env,
      stdout: request.stdoutPath,
      stderr: request.stderrPath,
    };
    return new Promise<Spawned>((resolve, reject) => {
      session.pending.set(id, { resolve, reject });
      session.child.stdin?.write(`${JSON.stringify(message)}\n`);
    });
  }

  /**
   * Lets the helper go: it answers the requests it already has, then exits
   * as its stdin ended. The tasks keep running; exits are no longer reported
   * (their promises stay pending, as the executor rules want after close).
   */
  close(): void {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return;
    session.child.stdin?.end();
    session.child.unref();
  }

  private current(): Session {
    if (this.session !== undefined) return this.session;
    const child = spawn(process.execPath, [...SPAWNER_NODE_FLAGS, '-e', `(${runSpawner.toString()})()`], {
      stdio: ['pipe', 'pipe', 'inherit'],
      // Its own process group: a Ctrl-C meant for the agent's terminal does not reach it.
      detached: true,
      env: {},
    });
    const session: Session = { child, pending: new Map(), running: new Map() };
    this.session = session;
    let buffered = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line !== '') this.receive(session, JSON.parse(line) as SpawnerMessage);
      }
    });
    child.stdin?.on('error', () => undefined); // EPIPE once it died: 'close' below handles that.
    child.on('error', (e) => this.log.error({ err: e }, 'cannot start the spawner process'));
    // After its stdout ended and it exited: every exit it reported has been received.
    child.on('close', (code, signal) => this.died(session, code, signal));
    this.log.debug({ pid: child.pid }, 'spawner started');
    return session;
  }

  private receive(session: Session, message: SpawnerMessage): void {
    switch (message.t) {
      case 'spawned': {
        const waiter = session.pending.get(message.id);
        session.pending.delete(message.id);
        const exit = new Promise<SpawnedExit>((resolve) => session.running.set(message.pid, resolve));
        waiter?.resolve({ pid: message.pid, startTime: message.startTime ?? undefined, exit });
        return;
      }
      case 'failed': {
        const waiter = session.pending.get(message.id);
        session.pending.delete(message.id);
        waiter?.reject(new SpawnFailedError(message.stage, message.message));
        return;
      }
      case 'exit': {
        const ended = session.running.get(message.pid);
        session.running.delete(message.pid);
        if (message.signal !== null) ended?.({ kind: 'signaled', signal: message.signal });
        else ended?.({ kind: 'exited', exitCode: message.code ?? 0 });
        return;
      }
    }
  }

  private died(session: Session, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.session === session) this.session = undefined;
    const unanswered = session.pending.size;
    const orphaned = session.running.size;
    for (const waiter of session.pending.values()) waiter.reject(new SpawnerDiedError());
    session.pending.clear();
    if (this.closed) return;
    for (const ended of session.running.values()) ended({ kind: 'orphaned' });
    session.running.clear();
    this.log.warn(
      { pid: session.child.pid, code, signal, unanswered, orphaned },
      'the spawner process died: its tasks keep running and are watched through /proc; a new spawner starts with the next launch',
    );
  }
}
