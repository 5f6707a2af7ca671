/**
 * A task's health checks. While a task with health checks is RUNNING, a
 * HealthMonitor runs them; its transitions go to task-updates.ts as status
 * updates. Every status of such a task carries its last known health, so
 * KILLING and the terminal status say how healthy the task was. The monitor
 * starts when the task enters RUNNING (or is re-adopted RUNNING, starting
 * from UNKNOWN again) and stops when it leaves RUNNING or the manager closes.
 */
import type { Logger } from '@drover/common';
import type { Executor } from '../executor/executor.js';
import { taskEnvironment } from '../executor/task-environment.js';
import { healthCheckSettings, runHealthCheck } from '../health/health-check.js';
import { HealthMonitor, type TaskHealth } from '../health/health-monitor.js';
import type { TaskRecord } from './task-record.js';

/** What TaskHealthChecks works with. */
export interface TaskHealthChecksOptions {
  /** Runs COMMAND checks inside containers, when it has a runner for that. */
  readonly executor: Executor;
  /** Address tasks are reachable at (HOST in their environment). */
  readonly host: string;
  /** The task manager's logger. */
  readonly log: Logger;
  /** True once the manager is closed: no checks start any more. */
  readonly closed: () => boolean;
  /** Reports a transition; it becomes a status update in the task's queue. */
  readonly report: (record: TaskRecord, monitor: HealthMonitor, health: TaskHealth) => void;
}

/** Starts and stops the health monitors of tasks. */
export class TaskHealthChecks {
  constructor(private readonly options: TaskHealthChecksOptions) {}

  /** Starts the health checks of a task that is RUNNING, if it has any. Health starts UNKNOWN. */
  start(record: TaskRecord): void {
    const { spec, sandbox } = record;
    const { executor, host, log } = this.options;
    if (spec.healthChecks.length === 0 || record.monitor !== undefined || this.options.closed()) return;
    // Checks run where and as the task runs: its sandbox, its environment,
    // or inside its container when its executor has a runner for that.
    const target = {
      cwd: sandbox.dir,
      env: taskEnvironment(spec, { host, sandboxDir: sandbox.dir }),
      run: executor.commandRunner?.(spec.taskId),
    };
    const previous = record.health?.health;
    const monitor: HealthMonitor = new HealthMonitor({
      checks: spec.healthChecks.map((check) => healthCheckSettings(check, spec.ports)),
      runningSince: record.runningSince ?? Date.now(),
      // Re-adopted after its failures already counted (it had been healthy,
      // or its grace was over): the restart must not hand out a new grace.
      countFailuresAtOnce: previous === 'HEALTHY' || previous === 'UNHEALTHY',
      probe: (check, signal) => runHealthCheck(check, target, signal),
      report: (health) => this.options.report(record, monitor, health),
      logger: log.child({ taskId: spec.taskId }),
    });
    record.monitor = monitor;
    record.health = monitor.current;
    monitor.start();
  }

  /** Stops a task's health checks, keeping the health they last saw. */
  stop(record: TaskRecord): void {
    const monitor = record.monitor;
    if (monitor === undefined) return;
    monitor.stop();
    record.monitor = undefined;
    record.health = monitor.current;
  }
}
