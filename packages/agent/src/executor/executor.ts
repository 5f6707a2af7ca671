/**
 * The verbs every executor (process, Docker, and a fake one for tests)
 * offers the task manager, after Mesos' containerizer (recover, launch, wait,
 * destroy) and Nomad's driver plugins. The task manager owns the task state
 * machine, checkpoints and status updates; an executor only starts, watches
 * and stops the thing that runs, and says how it ended.
 *
 * Rules for implementers (a shared conformance suite checks them):
 *
 * - Every method is safe to call concurrently, for the same task or others.
 * - launch is idempotent per task id: launching a task already launched (or
 *   being launched) resolves to the same handle and starts nothing new.
 * - launch resolves once the task runs (it may already have ended: wait says
 *   so) and rejects with a LaunchError when it could not be started; nothing
 *   is left running after a rejection.
 * - wait may be called any number of times; every call resolves with the same
 *   TaskExit once the task ended. It never rejects for a known task.
 * - kill is idempotent: the first call sends the polite signal and starts the
 *   grace period; later calls never restart it but may shorten it. It resolves
 *   like wait. Killing an ended task resolves at once.
 * - When a task ends, the executor removes whatever the task left running
 *   (the rest of its process group) before wait resolves. What it keeps as
 *   the record of the end (a stopped container, with its exit code) stays
 *   until remove is called, once the task manager recorded the end.
 * - remove forgets an ended task and deletes that record. It is idempotent,
 *   also takes handles the executor never saw (a checkpoint of a task that
 *   ended before a restart: whatever is left of it goes), and rejects with a
 *   FailedPrecondition DroverError for a known task that has not ended.
 * - Handles are plain JSON: the task manager checkpoints them and passes them
 *   to recover after an agent restart, possibly in another process.
 * - recover re-adopts what still runs (wait and kill work on it afterwards)
 *   and says which handles are gone. It must not confuse a new process that
 *   reused an old pid with the task. An executor whose capabilities say
 *   exitStatusAfterRecover also re-adopts a task that ended while the agent
 *   was down but whose exit status it can still read: wait resolves with it.
 * - close stops watching (timers, pollers) without touching any task: tasks
 *   outlive the agent. wait promises still pending stay pending.
 * - Unknown task ids make wait and kill reject with NotFoundError.
 * - commandRunner is optional: an executor whose tasks live somewhere the
 *   host's shell cannot see (a container) returns a runner that executes a
 *   COMMAND health check there, as Marathon does; without one the agent runs
 *   the check on the host, in the task's sandbox with its environment. The
 *   runner settles once the command ended; when its signal aborts it gives
 *   up and settles at once.
 */
import { Code, DroverError } from '@drover/common';
import type { TaskReasonName, TaskSpec } from '@drover/proto';
import type { Sandbox } from '../sandbox/sandbox.js';

/** Everything an executor needs to start one task. */
export interface LaunchRequest {
  /** What to run. */
  readonly spec: TaskSpec;
  /** Where: the task's sandbox (already created). */
  readonly sandbox: Sandbox;
  /** Address the task is reachable at (exported as HOST). */
  readonly host: string;
}

/** What an executor needs to find a task again; checkpointed as JSON. */
export interface TaskHandle {
  /** The task. */
  readonly taskId: string;
  /** Name of the executor that launched it. */
  readonly executor: string;
  /** Process id of the task's process group leader (0 when there is none). */
  readonly pid: number;
  /** Executor-specific facts, for example the process start time or a container id. */
  readonly details: Readonly<Record<string, string | number>>;
}

/** How a task ended, as far as its executor could see. */
export type TaskExit =
  /**
   * The main process exited on its own with this code. `oom` is true when the
   * kernel's OOM killer killed a process of the task for going over its memory
   * limit (a shell that survives its child's OOM kill still exits on its own).
   */
  | {
      readonly kind: 'exited';
      readonly exitCode: number;
      readonly oom?: boolean;
      /** Set when the task's own program never ran (its isolation could not be set up): why, for people. */
      readonly notStarted?: string;
    }
  /**
   * The main process died of this signal (for example "SIGKILL"). `oom` is true
   * when the signal came from the kernel's OOM killer (memory limit reached).
   */
  | { readonly kind: 'signaled'; readonly signal: string; readonly oom?: boolean }
  /** The task ended but its exit status cannot be known (re-adopted process). */
  | { readonly kind: 'unknown' };

/** What an executor can do, so callers need not guess from its name. */
export interface ExecutorCapabilities {
  /** Tasks survive an agent restart and recover() can re-adopt them. */
  readonly recover: boolean;
  /** A re-adopted task's exit status can still be learned when it ends. */
  readonly exitStatusAfterRecover: boolean;
}

/** Starts, watches and stops tasks of one kind (see the rules above). */
export interface Executor {
  /** Short name recorded in handles ("process", "docker"). */
  readonly name: string;
  /** What this executor can do. */
  readonly capabilities: ExecutorCapabilities;
  /** Starts a task; resolves with its handle once it runs, rejects with LaunchError. */
  launch(request: LaunchRequest): Promise<TaskHandle>;
  /** Resolves once the task ended. */
  wait(taskId: string): Promise<TaskExit>;
  /** Polite stop, then forced after gracePeriodMs; resolves once the task ended. */
  kill(taskId: string, gracePeriodMs: number): Promise<TaskExit>;
  /** Re-adopts checkpointed tasks; returns the ids of those re-adopted. */
  recover(handles: readonly TaskHandle[]): Promise<Set<string>>;
  /** Forgets an ended task and removes what was kept of it (see the rules above). */
  remove(handle: TaskHandle): Promise<void>;
  /** Stops watching without touching any task. */
  close(): void;
  /** Where a COMMAND health check of this task runs, if not on the host (see the rules above). */
  commandRunner?(taskId: string): TaskCommandRunner | undefined;
}

/** How a command run where a task runs ended. */
export interface TaskCommandResult {
  /** Its exit code; undefined when the runtime could not tell. */
  readonly exitCode: number | undefined;
  /** The start of what it wrote, stdout and stderr together in the order written. */
  readonly output: string;
}

/** How much of a command's output a runner keeps: enough for the first line, which becomes a failing check's message. */
export const TASK_COMMAND_OUTPUT_BYTES = 4096;

/** Runs a shell command line where one task runs; aborting `signal` gives up on it. */
export type TaskCommandRunner = (command: string, signal: AbortSignal) => Promise<TaskCommandResult>;

/** Why a launch failed, as the task's FAILED status says it. */
export type LaunchFailureReason = Extract<TaskReasonName, 'LAUNCH_FAILED' | 'CONTAINER_ERROR'>;

/** A task could not be started (bad command, missing program, sandbox error, container runtime error). */
export class LaunchError extends DroverError {
  override name = 'LaunchError';
  constructor(
    /** The task that did not start. */
    readonly taskId: string,
    /** One line for people, for example "spawn /nope ENOENT". */
    message: string,
    cause?: unknown,
    /** CONTAINER_ERROR when the container runtime failed (pull, create, start); else LAUNCH_FAILED. */
    readonly reason: LaunchFailureReason = 'LAUNCH_FAILED',
  ) {
    super(message, Code.FailedPrecondition, { cause });
  }
}
