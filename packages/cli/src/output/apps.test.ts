import type { App, ConstraintOperator, TaskFailure } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { crashApp, NOW, webApp } from '../testing/fixtures.js';
import { formatAppDetails } from './apps.js';

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
  ])('last failure: $name', ({ app, want }) => {
    expect(lastFailure(app)).toEqual(want);
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
