/**
 * The kill rule of executor.ts, written once for every executor: the first
 * kill asks the task to stop (SIGTERM to its group, `docker stop`) and sets
 * a deadline at which it is forced; a later kill may bring the deadline
 * forward but never pushes it back, so an impatient operator's second
 * `kill --grace 0` wins and a slow caller cannot stretch a kill already
 * under way. Each kill resolves with the task's exit, like wait.
 */
import { timerDelay } from '@drover/common';
import type { TaskExit } from './executor.js';

/** The fields an executor keeps per watched task for its kill. */
export interface KillState {
  /** True once the task ended; a kill then only returns the exit. */
  ended: boolean;
  /** Resolves with how the task ended. */
  readonly exit: Promise<TaskExit>;
  /** Epoch ms at which the task is forced; undefined until the first kill. */
  killDeadline?: number;
  /** Fires the forced step at killDeadline. */
  killTimer?: NodeJS.Timeout;
}

/** How one executor stops a task. */
export interface KillSteps {
  /** The polite first step, given the grace period (ms) it has. Called at most once per task. */
  terminate(graceMs: number): void;
  /** The forced step at the deadline (SIGKILL); called only when the task has not ended by then. */
  force(): void;
  /** False once the executor is closed: no timer is armed then (tasks outlive the agent). */
  readonly watching: boolean;
}

/** Applies one kill request with `gracePeriodMs` (negative counts as 0) to the task `w`. */
export function killWithDeadline(w: KillState, gracePeriodMs: number, steps: KillSteps): Promise<TaskExit> {
  if (w.ended) return w.exit;
  const grace = Math.max(0, gracePeriodMs);
  const deadline = Date.now() + grace;
  if (w.killDeadline === undefined) {
    w.killDeadline = deadline;
    steps.terminate(grace);
  } else if (deadline >= w.killDeadline) {
    return w.exit;
  }
  w.killDeadline = deadline;
  clearTimeout(w.killTimer);
  if (steps.watching) {
    // The grace period is the app's: clamped, or one past 24.8 days would SIGKILL after 1 ms.
    w.killTimer = setTimeout(() => {
      if (!w.ended) steps.force();
    }, timerDelay(deadline - Date.now()));
  }
  return w.exit;
}
