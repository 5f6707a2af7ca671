import { silentLogger } from '@drover/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HealthCheckSettings, ProbeResult } from './health-check.js';
import { HealthMonitor, type HealthMonitorOptions, type TaskHealth } from './health-monitor.js';

type Outcome = ProbeResult['outcome'];

const T0 = 1_700_000_000_000;

/** A check probing every 100 ms from the start, no grace, 3 failures to fail. */
function settings(extra: Partial<HealthCheckSettings> = {}): HealthCheckSettings {
  return {
    protocol: 'HTTP',
    path: '/health',
    port: 31000,
    portIndex: 0,
    command: '',
    gracePeriodMs: 0,
    intervalMs: 100,
    timeoutMs: 50,
    maxConsecutiveFailures: 3,
    delayMs: 0,
    ignoreHttp1xx: false,
    ...extra,
  };
}

interface Scripted {
  monitor: HealthMonitor;
  reports: TaskHealth[];
  /** When each probe started, ms after T0, per check. */
  calls: number[][];
}

/** A monitor whose check i answers script[i] in turn (then keeps passing), starting at T0. */
function scripted(
  checks: HealthCheckSettings[],
  scripts: Outcome[][],
  extra: Partial<HealthMonitorOptions> = {},
): Scripted {
  const reports: TaskHealth[] = [];
  const calls: number[][] = checks.map(() => []);
  const monitor = new HealthMonitor({
    checks,
    runningSince: T0,
    probe: (check) => {
      const i = checks.indexOf(check);
      calls[i]?.push(Date.now() - T0);
      const outcome = scripts[i]?.shift() ?? 'pass';
      return Promise.resolve({ outcome, message: outcome === 'fail' ? `HTTP 503 from ${check.path}` : 'HTTP 200' });
    },
    report: (health) => reports.push(health),
    logger: silentLogger(),
    ...extra,
  });
  monitor.start();
  return { monitor, reports, calls };
}

const healthy = { health: 'HEALTHY', failures: 0, failed: false, message: '' };
const unhealthy = (failures: number, failed = false) => ({
  health: 'UNHEALTHY',
  failures,
  failed,
  message: 'HTTP 503 from /health',
});

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('health monitor', () => {
  it('waits delay after RUNNING before the first probe, then probes every interval', async () => {
    // The task became RUNNING 200 ms before the monitor started (a re-adopted task, say).
    vi.setSystemTime(T0 + 200);
    const { calls } = scripted([settings({ delayMs: 500 })], [[]]);
    await vi.advanceTimersByTimeAsync(299);
    expect(calls[0]).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls[0]).toEqual([500]);
    await vi.advanceTimersByTimeAsync(300);
    expect(calls[0]).toEqual([500, 600, 700, 800]);
  });

  it('reports each transition exactly once, not every probe', async () => {
    const { reports, monitor } = scripted([settings({ maxConsecutiveFailures: 5 })], [['pass', 'pass', 'pass', 'fail', 'fail', 'pass', 'pass']]);
    expect(monitor.current.health).toBe('UNKNOWN');
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toEqual([healthy, unhealthy(1), healthy]);
    expect(monitor.current).toEqual(healthy);
  });

  it('ignores failures inside the grace period until the task was healthy once', async () => {
    const { reports, monitor, calls } = scripted(
      [settings({ gracePeriodMs: 1000 })],
      [['fail', 'fail', 'fail', 'fail', 'fail', 'pass', 'fail']],
    );
    await vi.advanceTimersByTimeAsync(450);
    expect(calls[0]).toHaveLength(5);
    expect(reports).toEqual([]);
    // Not counted, but it says why the task is not healthy yet.
    expect(monitor.current).toEqual({ health: 'UNKNOWN', failures: 0, failed: false, message: 'HTTP 503 from /health' });
    await vi.advanceTimersByTimeAsync(100);
    expect(reports).toEqual([healthy]);
    // Still inside the grace period, but the task was healthy: this one counts.
    await vi.advanceTimersByTimeAsync(100);
    expect(reports).toEqual([healthy, unhealthy(1)]);
  });

  it('counts failures once the grace period is over, healthy or not (UNKNOWN -> UNHEALTHY)', async () => {
    const { reports } = scripted([settings({ gracePeriodMs: 250 })], [['fail', 'fail', 'fail', 'fail', 'fail', 'fail']]);
    await vi.advanceTimersByTimeAsync(250);
    expect(reports).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(reports).toEqual([unhealthy(1)]);
  });

  it('reports health_failed once, when the failures reach max_consecutive_failures', async () => {
    const { reports, monitor } = scripted([settings()], [Array<Outcome>(8).fill('fail')]);
    await vi.advanceTimersByTimeAsync(750);
    expect(reports).toEqual([unhealthy(1), unhealthy(3, true)]);
    expect(monitor.current).toEqual(unhealthy(8, true));
  });

  it('resets the failures on a pass, and clears health_failed with it', async () => {
    const { reports, monitor } = scripted([settings()], [['fail', 'fail', 'pass', 'fail', 'fail', 'fail', 'pass']]);
    await vi.advanceTimersByTimeAsync(150);
    expect(monitor.current).toEqual(unhealthy(2));
    await vi.advanceTimersByTimeAsync(500);
    expect(reports).toEqual([unhealthy(1), healthy, unhealthy(1), unhealthy(3, true), healthy]);
  });

  it('never fails a task when max_consecutive_failures is 0', async () => {
    const { reports, monitor } = scripted([settings({ maxConsecutiveFailures: 0 })], [Array<Outcome>(10).fill('fail')]);
    await vi.advanceTimersByTimeAsync(950);
    expect(reports).toEqual([unhealthy(1)]);
    expect(monitor.current).toEqual(unhealthy(10));
  });

  it('changes nothing on ignored results', async () => {
    const { reports, monitor } = scripted([settings()], [['ignore', 'ignore', 'pass', 'ignore', 'fail', 'ignore', 'fail']]);
    await vi.advanceTimersByTimeAsync(150);
    expect(reports).toEqual([]);
    expect(monitor.current.health).toBe('UNKNOWN');
    await vi.advanceTimersByTimeAsync(500);
    expect(reports).toEqual([healthy, unhealthy(1)]);
    expect(monitor.current).toEqual(unhealthy(2));
  });

  it('is HEALTHY only when every check passes, UNHEALTHY when any fails', async () => {
    const web = settings({ path: '/health' });
    const admin = settings({ path: '/admin', delayMs: 250, maxConsecutiveFailures: 2 });
    const { reports, monitor } = scripted([web, admin], [['pass', 'pass', 'pass', 'pass', 'fail', 'fail'], ['pass', 'pass', 'fail']]);
    await vi.advanceTimersByTimeAsync(200);
    expect(reports).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(reports).toEqual([healthy]);
    await vi.advanceTimersByTimeAsync(200);
    // web fails at 400: UNHEALTHY. admin's first failure at 450 changes neither health nor failed.
    expect(reports).toEqual([healthy, unhealthy(1)]);
    await vi.advanceTimersByTimeAsync(50);
    // web's second failure at 500: 2 is the most over the checks, still short of web's 3.
    expect(reports).toHaveLength(2);
    expect(monitor.current).toEqual(unhealthy(2));
  });

  it('counts failures at once for a re-adopted task that had been healthy', async () => {
    const { reports } = scripted([settings({ gracePeriodMs: 60_000 })], [['fail']], { countFailuresAtOnce: true });
    await vi.advanceTimersByTimeAsync(1);
    expect(reports).toEqual([unhealthy(1)]);
  });

  it('keeps at most one probe per check in flight, however slow the probes', async () => {
    let inFlight = 0;
    let most = 0;
    const starts: number[] = [];
    const monitor = new HealthMonitor({
      checks: [settings({ intervalMs: 100 })],
      runningSince: T0,
      probe: async () => {
        starts.push(Date.now() - T0);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 250));
        inFlight--;
        return { outcome: 'pass', message: 'HTTP 200' };
      },
      report: () => undefined,
      logger: silentLogger(),
    });
    monitor.start();
    await vi.advanceTimersByTimeAsync(1000);
    monitor.stop();
    expect(most).toBe(1);
    expect(starts).toHaveLength(4);
    // Each probe starts once the previous one settled (node runs an overdue timer after 1 ms).
    for (let i = 1; i < starts.length; i++) expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(250);
  });

  it('stops: no more probes, the probe in flight is aborted and its result dropped, no timer left', async () => {
    let aborted = 0;
    const reports: TaskHealth[] = [];
    let probes = 0;
    const monitor = new HealthMonitor({
      checks: [settings({ timeoutMs: 10_000 })],
      runningSince: T0,
      probe: (_check, signal) => {
        probes++;
        return new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted++;
            // A late result must not be reported after stop.
            resolve({ outcome: 'pass', message: 'too late' });
          });
        });
      },
      report: (h) => reports.push(h),
      logger: silentLogger(),
    });
    monitor.start();
    await vi.advanceTimersByTimeAsync(50);
    expect(probes).toBe(1);
    monitor.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect({ aborted, probes, reports, timers: vi.getTimerCount() }).toEqual({ aborted: 1, probes: 1, reports: [], timers: 0 });
    monitor.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(probes).toBe(1);
  });

  it('clears its timers on stop between probes', async () => {
    const { monitor, calls } = scripted([settings()], [[]]);
    await vi.advanceTimersByTimeAsync(150);
    monitor.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls[0]).toEqual([0, 100]);
  });
});

describe('health monitor timers', () => {
  // Real timers: Node's own clamping of a delay past 2^31-1 ms is what is tested.
  beforeEach(() => {
    vi.useRealTimers();
  });

  it.each([
    { name: 'an interval of 3,000,000 s', extra: { intervalMs: 3_000_000_000 } },
    { name: 'a delay of 3,000,000 s', extra: { delayMs: 3_000_000_000 } },
  ])('$name waits (clamped to 24.8 days), instead of probing every 1 ms with a TimeoutOverflowWarning', async ({ extra }) => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    let probes = 0;
    const monitor = new HealthMonitor({
      checks: [settings(extra)],
      runningSince: Date.now(),
      probe: () => {
        probes++;
        return Promise.resolve({ outcome: 'pass', message: 'HTTP 200' });
      },
      report: () => undefined,
      logger: silentLogger(),
    });
    try {
      monitor.start();
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      monitor.stop();
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
    expect(probes).toBe(extra.delayMs === undefined ? 1 : 0);
  });
});
