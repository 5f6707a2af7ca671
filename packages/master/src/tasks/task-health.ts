/**
 * When a task counts as healthy: for a deployment's progress and success,
 * for the upgrade strategy (old tasks go only while enough others are
 * healthy) and in an app's counts.
 *
 * With health checks, a task is healthy while its checks pass. Without,
 * RUNNING only says the process was started: one that dies at once (its
 * port taken, EADDRINUSE; a missing file; a bad flag) is RUNNING for a few
 * milliseconds, and counting it then let a deployment succeed on tasks that
 * were already failing ("2/2 new healthy" while one had died). So a task
 * without checks counts once it has stayed RUNNING for a minimum time, as
 * Nomad's min_healthy_time does for task states. The time is measured from
 * the RUNNING status's own timestamp, so a master that restarts, or hears
 * the status late, does not restart the wait.
 */
import type { TaskRecord } from '../model/records.js';

/** How long a task without health checks must have been RUNNING to count as healthy, by default. */
export const DEFAULT_MIN_RUNNING_MS = 5000;

/** True when the task counts as healthy at `now`: passing checks, or RUNNING for `minRunningMs` when it has none. */
export function isHealthy(task: TaskRecord, now: number, minRunningMs: number): boolean {
  return healthyInMs(task, now, minRunningMs) === 0;
}

/**
 * 0 when the task counts as healthy at `now`; the milliseconds left until
 * it does if it only has to keep running (RUNNING without checks, not for
 * long enough yet); undefined when time alone will not make it healthy (not
 * RUNNING, a kill requested, checks not passing).
 */
export function healthyInMs(task: TaskRecord, now: number, minRunningMs: number): number | undefined {
  if (task.state !== 'RUNNING' || task.killRequested) return undefined;
  if (task.health !== undefined) return task.health === 'HEALTHY' ? 0 : undefined;
  // Every RUNNING task has startedAt (applyStatus sets it); one without is counted rather than kept waiting forever.
  const ranFor = task.startedAt === undefined ? Infinity : now - task.startedAt;
  return ranFor >= minRunningMs ? 0 : minRunningMs - ranFor;
}
