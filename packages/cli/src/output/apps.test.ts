import { type App, type ConstraintOperator, HealthCheck, HealthCheckProtocol, type TaskFailure } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { crashApp, NOW, webApp } from '../testing/fixtures.js';
import { formatAppDetails, formatHealthCheck } from './apps.js';

const failure = crashApp.status!.lastTaskFailure!;

/** crashApp with its last failure replaced by `f` (merged into the fixture's). */
function failedWith(f: Partial<TaskFailure>): App {
  return { ...crashApp, status: { ...crashApp.status!, lastTaskFailure: { ...failure, ...f } } };
}

/** The "Last failure" value of an app's details, without the label column. */
function lastFailure(app: App): string[] {
  const lines = formatAppDetails(app, NOW).split('\n');
  const first = lines.findIndex((l) => l.startsWith('Last failure:'));
  const rest = lines.slice(first + 1);
  const end = rest.findIndex((l) => !l.startsWith('   '));
  return [lines[first]!, ...rest.slice(0, end)].map((l) => l.slice('Last failure:  '.length));
}

describe('formatAppDetails', () => {
  it.each([
    {
      name: 'a signal, the current version, no stderr',
      app: failedWith({ exitCode: undefined, signal: 'SIGKILL', message: '', stderrTail: '', appVersion: crashApp.version }),
      want: [`${failure.taskId} on node1, 2025-06-01T11:58:00.000Z (2m ago)`, 'FAILED, signal SIGKILL', 'stderr: (empty)'],
    },
    {
      name: 'a lost task without time or host, short stderr with control characters',
      app: failedWith({ exitCode: undefined, host: '', timestamp: undefined, state: 'LOST', message: 'agent lost', stderrTail: 'a\u0007b\n\n', appVersion: '' }),
      want: [`${failure.taskId} on agent-1`, 'LOST: agent lost', 'stderr:', '  a?b'],
    },
    {
      name: 'a task of the configuration the app was scaled from is not old',
      app: { ...failedWith({ appVersion: '2025-06-01T09:00:00.000Z', stderrTail: '' }), version: '2025-06-01T11:00:00.000Z', lastConfigChangeAt: '2025-06-01T09:00:00.000Z', lastScalingAt: '2025-06-01T11:00:00.000Z' },
      want: [`${failure.taskId} on node1, 2025-06-01T11:58:00.000Z (2m ago)`, `FAILED, exit code 1: ${failure.message}`, 'stderr: (empty)'],
    },
    {
      name: 'a task of a configuration before the current one is',
      app: { ...failedWith({ appVersion: '2025-06-01T08:00:00.000Z', stderrTail: '' }), version: '2025-06-01T11:00:00.000Z', lastConfigChangeAt: '2025-06-01T09:00:00.000Z' },
      want: [
        `${failure.taskId} on node1, 2025-06-01T11:58:00.000Z (2m ago)`,
        `FAILED, exit code 1: ${failure.message}`,
        'ran version 2025-06-01T08:00:00.000Z (not the current one)',
        'stderr: (empty)',
      ],
    },
  ])('last failure: $name', ({ app, want }) => {
    expect(lastFailure(app)).toEqual(want);
  });

  it('says when the current version is a scale, and of which configuration', () => {
    const app: App = { ...webApp, version: '2025-06-01T11:00:00.000Z', lastConfigChangeAt: '2025-06-01T09:00:00.000Z', lastScalingAt: '2025-06-01T11:00:00.000Z' };
    expect(formatAppDetails(app, NOW)).toContain('Version:      2025-06-01T11:00:00.000Z (a scale of 2025-06-01T09:00:00.000Z)\n');
    expect(formatAppDetails({ ...app, lastScalingAt: '' }, NOW)).toContain('Version:      2025-06-01T11:00:00.000Z\n');
  });

  it('shows no launch delay or last failure for a healthy app', () => {
    const out = formatAppDetails(webApp, NOW);
    expect(out).not.toContain('Launch delay');
    expect(out).not.toContain('Last failure');
  });

  it('drops the launch delay once it ran out, and shows an operator newer than this CLI as UNKNOWN', () => {
    const app: App = {
      ...crashApp,
      spec: { ...crashApp.spec!, constraints: [{ field: 'zone', operator: 99 as ConstraintOperator, value: 'a' }], placementStrategy: 0 },
      status: { ...crashApp.status!, launchDelaySeconds: 0, nextLaunchAt: undefined },
    };
    const out = formatAppDetails(app, NOW);
    expect(out).toContain('Constraints:   zone:UNKNOWN:a\nPlacement:     binpack\n');
    expect(out).not.toContain('Launch delay');
  });
});

describe('formatHealthCheck', () => {
  it.each([
    {
      name: 'an HTTP check with every field left to its default',
      check: {},
      want: 'HTTP / on port index 0 every 60s (timeout 20s, grace 300s, kill after 3 failures)',
    },
    {
      name: 'HTTPS on a fixed port',
      check: { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTPS, path: '/ping', port: 8443, intervalSeconds: 0.5, maxConsecutiveFailures: 1 },
      want: 'HTTPS /ping on port 8443 every 0.5s (timeout 20s, grace 300s, kill after 1 failure)',
    },
    {
      name: 'TCP has no path',
      check: { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_TCP, path: '/ignored', portIndex: 1, gracePeriodSeconds: 0 },
      want: 'TCP on port index 1 every 60s (timeout 20s, grace 0s, kill after 3 failures)',
    },
    {
      name: 'a command that never kills',
      check: { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_COMMAND, command: 'pg_isready', maxConsecutiveFailures: 0, timeoutSeconds: 5 },
      want: 'COMMAND `pg_isready` every 60s (timeout 5s, grace 300s, never kills)',
    },
  ])('$name', ({ check, want }) => {
    expect(formatHealthCheck(HealthCheck.fromPartial(check))).toBe(want);
  });
});
