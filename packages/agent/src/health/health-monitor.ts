/**
 * The health of one RUNNING task: runs its checks on their own timers,
 * counts results, and says when the task's health changes.
 *
 * Timing. Each check probes first `delay` after the task became RUNNING,
 * then every `interval` (measured start to start). The next probe of a check
 * is only scheduled once the previous one settled, so a hung endpoint can
 * never pile up probes: at most one per check is in flight, and a probe
 * settles within its timeout.
 *
 * Counting (Marathon's rules, made precise):
 * - A pass resets the check's consecutive failures.
 * - A failure counts unless the task has never been healthy and the probe
 *   started inside the check's grace period (measured from RUNNING): slow
 *   starters are not failed for starting slowly, but a task that was healthy
 *   once, or has used up its grace, is judged on every failure.
 * - 'ignore' results (1xx with ignore_http1xx) change nothing.
 *
 * Health of the task: HEALTHY when the latest counted result of every check
 * passed, UNHEALTHY when the latest counted result of any check failed,
 * UNKNOWN until then. `failed` is set once a check's consecutive counted
 * failures reach its max_consecutive_failures (0: never); it clears again
 * with that check's next pass. The agent never kills for it: the master
 * decides, so it can limit health kills across an app.
 *
 * Only transitions are reported (UNKNOWN->HEALTHY, HEALTHY<->UNHEALTHY,
 * UNKNOWN->UNHEALTHY, and `failed` false->true), never each probe: every
 * report becomes a journaled, acked status update, and the master needs the
 * changes, not a heartbeat. `current` always has the latest view (failure
 * count included), for the statuses that follow (KILLING, terminal).
 */
import { type Logger, timerDelay } from '@drover/common';
import type { HealthStateName } from '@drover/proto';
import type { HealthCheckSettings, ProbeResult } from './health-check.js';

/** The health states a monitor can be in (UNSPECIFIED means "no checks" and never comes from one). */
export type MonitoredHealth = Extract<HealthStateName, 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY'>;

/** What a task's health checks say, as carried by its status updates. */
export interface TaskHealth {
  /** UNKNOWN, HEALTHY or UNHEALTHY. */
  readonly health: MonitoredHealth;
  /** Consecutive counted failures, the maximum over the task's checks. */
  readonly failures: number;
  /** A check reached its max_consecutive_failures: the master should replace the task. */
  readonly failed: boolean;
  /** The last failure, one line; empty while HEALTHY. */
  readonly message: string;
}

/** The health of a task whose checks have not said anything yet. */
export const UNKNOWN_HEALTH: TaskHealth = { health: 'UNKNOWN', failures: 0, failed: false, message: '' };

/** How a HealthMonitor runs. */
export interface HealthMonitorOptions {
  /** The task's checks, defaults applied. */
  readonly checks: readonly HealthCheckSettings[];
  /** When the task became RUNNING (ms since the epoch): delays and grace periods count from here. */
  readonly runningSince: number;
  /**
   * Failures count from the first probe, as if the task had been healthy
   * (a re-adopted task whose failures were already counted before the
   * agent restarted).
   */
  readonly countFailuresAtOnce?: boolean;
  /** Runs one probe of `check`; must settle within the check's timeout, or at once on abort. */
  readonly probe: (check: HealthCheckSettings, signal: AbortSignal) => Promise<ProbeResult>;
  /** Receives each transition; `current` already shows it. */
  readonly report: (health: TaskHealth) => void;
  /** Logger for probe results (debug) and transitions. */
  readonly logger: Logger;
}

interface CheckState {
  readonly settings: HealthCheckSettings;
  /** The latest counted result. */
  latest?: 'pass' | 'fail';
  /** Consecutive counted failures. */
  failures: number;
  /** The newest failure (counted or not) and when it happened, for the message. */
  lastFailure?: { message: string; at: number };
  timer?: NodeJS.Timeout;
}

/** Runs one task's health checks from start() to stop(). */
export class HealthMonitor {
  private readonly checks: CheckState[];
  private readonly abort = new AbortController();
  private everHealthy: boolean;
  private state: TaskHealth = UNKNOWN_HEALTH;
  private reported: TaskHealth = UNKNOWN_HEALTH;
  private running = false;
  private failureSeq = 0;

  constructor(private readonly options: HealthMonitorOptions) {
    this.checks = options.checks.map((settings) => ({ settings, failures: 0 }));
    this.everHealthy = options.countFailuresAtOnce ?? false;
  }

  /** The task's health as of the latest result. */
  get current(): TaskHealth {
    return this.state;
  }

  /** Schedules every check's first probe. */
  start(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = true;
    for (const check of this.checks) {
      this.schedule(check, this.options.runningSince + check.settings.delayMs);
    }
  }

  /** Stops every timer, aborts probes in flight and drops their results. Idempotent. */
  stop(): void {
    this.running = false;
    for (const check of this.checks) clearTimeout(check.timer);
    this.abort.abort();
  }

  private schedule(check: CheckState, at: number): void {
    if (!this.running) return;
    // unref: a pending check must not keep the agent's process alive.
    // timerDelay: an interval past 24.8 days would otherwise probe every 1 ms.
    check.timer = setTimeout(() => void this.probe(check), timerDelay(at - Date.now()));
    check.timer.unref();
  }

  private async probe(check: CheckState): Promise<void> {
    const startedAt = Date.now();
    let result: ProbeResult;
    try {
      result = await this.options.probe(check.settings, this.abort.signal);
    } catch (e) {
      // Probes do not throw; if one ever does, that is a failed check, not a dead monitor.
      result = { outcome: 'fail', message: e instanceof Error ? e.message : String(e) };
    }
    if (!this.running) return;
    this.record(check, result, startedAt);
    this.schedule(check, startedAt + check.settings.intervalMs);
  }

  private record(check: CheckState, result: ProbeResult, startedAt: number): void {
    const { settings } = check;
    const log = this.options.logger;
    switch (result.outcome) {
      case 'ignore':
        log.debug({ protocol: settings.protocol, message: result.message }, 'health check result ignored');
        return;
      case 'pass':
        check.latest = 'pass';
        check.failures = 0;
        break;
      case 'fail': {
        check.lastFailure = { message: result.message, at: ++this.failureSeq };
        const inGrace = startedAt - this.options.runningSince < settings.gracePeriodMs;
        if (inGrace && !this.everHealthy) {
          // Not counted, but kept as the message: it says why the task is not healthy yet.
          log.debug({ protocol: settings.protocol, message: result.message }, 'health check failed inside its grace period');
          break;
        }
        check.latest = 'fail';
        check.failures++;
        break;
      }
    }
    this.state = this.evaluate();
    if (this.state.health === 'HEALTHY') this.everHealthy = true;
    const previous = this.reported;
    const transition = this.state.health !== previous.health || (this.state.failed && !previous.failed);
    if (!transition) return;
    this.reported = this.state;
    log.debug({ ...this.state, was: previous.health }, 'health transition');
    this.options.report(this.state);
  }

  private evaluate(): TaskHealth {
    const failing = this.checks.filter((c) => c.latest === 'fail');
    const health: MonitoredHealth =
      failing.length > 0 ? 'UNHEALTHY' : this.checks.every((c) => c.latest === 'pass') ? 'HEALTHY' : 'UNKNOWN';
    const failures = Math.max(0, ...this.checks.map((c) => c.failures));
    const failed = this.checks.some((c) => c.settings.maxConsecutiveFailures > 0 && c.failures >= c.settings.maxConsecutiveFailures);
    // The newest failure of a failing check explains UNHEALTHY best; before
    // any counted failure, the newest uncounted one says why it is not healthy yet.
    const explain = failing.length > 0 ? failing : this.checks;
    const newest = explain
      .flatMap((c) => (c.lastFailure === undefined ? [] : [c.lastFailure]))
      .sort((a, b) => b.at - a.at)[0];
    return { health, failures, failed, message: health === 'HEALTHY' ? '' : (newest?.message ?? '') };
  }
}
