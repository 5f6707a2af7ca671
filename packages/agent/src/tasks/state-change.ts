/**
 * How the end of a task's process maps onto the task lifecycle: which
 * terminal state, which reason, and the one line people read. Pure, so the
 * whole table is tested in one place.
 */
import type { TaskReasonName, TaskStateName } from '@drover/proto';
import type { TaskExit } from '../executor/executor.js';

/** One move of a task, before it is stamped into a TaskStatus. */
export interface StateChange {
  /** The state entered. */
  readonly state: TaskStateName;
  /** Why, for programs. */
  readonly reason?: TaskReasonName;
  /** Why, for people: one line. */
  readonly message: string;
  /** Exit code, when the process exited on its own. */
  readonly exitCode?: number;
  /** Signal that ended the process, if any. */
  readonly signal?: string;
}

/** A kill the master asked for. */
export interface KillRequest {
  /** Reason for the final status (KILL_REQUESTED unless the master said otherwise). */
  readonly reason: TaskReasonName;
  /** Message from the master; may be empty. */
  readonly message: string;
  /** Time between SIGTERM and SIGKILL. */
  readonly gracePeriodMs: number;
}

/** The one line for a task the kernel OOM-killed, naming its limit when known. */
function overMemoryLimit(memMiB: number | undefined): string {
  const limit = memMiB !== undefined && memMiB > 0 ? `its ${memMiB} MiB memory limit` : 'its memory limit';
  return `killed: over ${limit}`;
}

/**
 * The terminal state change for a task whose process ended with `exit`.
 * `memMiB` is the task's memory limit, named in the message of an OOM kill.
 * A kill the master asked for wins over an OOM kill that happened during the
 * grace period (the task was going away anyway), but the message says so.
 */
export function endOf(exit: TaskExit, kill: KillRequest | undefined, memMiB?: number): StateChange {
  const oom = exit.kind !== 'unknown' && exit.oom === true;
  if (kill !== undefined) {
    const because = (what: string) => (kill.message === '' ? what : `${kill.message} (${what})`);
    if (oom) {
      const how = exit.kind === 'signaled' ? { signal: exit.signal } : { exitCode: exit.exitCode };
      return { state: 'KILLED', reason: kill.reason, ...how, message: because(overMemoryLimit(memMiB)) };
    }
    switch (exit.kind) {
      case 'signaled':
        return { state: 'KILLED', reason: kill.reason, signal: exit.signal, message: because(`killed by ${exit.signal}`) };
      case 'exited':
        return {
          state: 'KILLED',
          reason: kill.reason,
          exitCode: exit.exitCode,
          message: because(`exited with code ${exit.exitCode} after SIGTERM`),
        };
      case 'unknown':
        return { state: 'KILLED', reason: kill.reason, message: because('killed; exit status unknown (re-adopted task)') };
    }
  }
  if (oom) {
    const how = exit.kind === 'signaled' ? { signal: exit.signal } : { exitCode: exit.exitCode };
    return { state: 'FAILED', reason: 'MEMORY_LIMIT', ...how, message: overMemoryLimit(memMiB) };
  }
  switch (exit.kind) {
    case 'exited':
      if (exit.notStarted !== undefined) return { state: 'FAILED', reason: 'LAUNCH_FAILED', exitCode: exit.exitCode, message: exit.notStarted };
      return {
        state: exit.exitCode === 0 ? 'FINISHED' : 'FAILED',
        reason: 'COMMAND_EXITED',
        exitCode: exit.exitCode,
        message: `exited with code ${exit.exitCode}`,
      };
    case 'signaled':
      return { state: 'FAILED', reason: 'SIGNALED', signal: exit.signal, message: `killed by ${exit.signal}` };
    case 'unknown':
      return {
        state: 'FAILED',
        reason: 'ENDED_WHILE_AGENT_DOWN',
        message: 'ended after the agent restarted and re-adopted it; exit status unknown',
      };
  }
}

/** The terminal state change for a task found dead when the agent started again. */
export function endedWhileDown(kill: KillRequest | undefined): StateChange {
  if (kill !== undefined) {
    return {
      state: 'KILLED',
      reason: kill.reason,
      message: 'ended while the agent was not running, after a kill request; exit status unknown',
    };
  }
  return {
    state: 'FAILED',
    reason: 'ENDED_WHILE_AGENT_DOWN',
    message: 'ended while the agent was not running; exit status unknown',
  };
}
