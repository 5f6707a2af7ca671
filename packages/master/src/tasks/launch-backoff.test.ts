/** LaunchBackoff: growth, reset, and taking up what was persisted with the app. */
import { describe, expect, it } from 'vitest';
import type { AppRecord, TaskRecord } from '../model/records.js';
import { appRecord, taskRecord } from '../store/conformance/store-conformance.js';
import { LaunchBackoff } from './launch-backoff.js';

const V1 = '2026-01-01T00:00:00.000Z';
const V2 = '2026-01-02T00:00:00.000Z';

function app(extra: Partial<AppRecord> = {}): AppRecord {
  const base = appRecord('/web', { version: V1 });
  return { ...base, spec: { ...base.spec, backoffSeconds: 2, backoffFactor: 2, maxLaunchDelaySeconds: 10 }, ...extra };
}

describe('LaunchBackoff', () => {
  it('grows by the factor up to the maximum and says what to persist', () => {
    const b = new LaunchBackoff();
    const a = app();
    for (const at of [1000, 2000, 3000, 4000]) b.failed(a, at);
    expect(b.record(a)).toEqual({ version: V1, failures: 4, delayMs: 10_000, lastFailureAt: 4000, nextLaunchAt: 14_000 });
    expect(b.delayLeft(a, 5000)).toBe(9000);
  });

  it('takes up a persisted backoff of the current version, and ignores one of an older version', () => {
    const persisted = { version: V1, failures: 3, delayMs: 8000, lastFailureAt: 1000, nextLaunchAt: 9000 };
    const b = new LaunchBackoff();
    b.restore([app({ launchBackoff: persisted }), { ...app({ launchBackoff: persisted }), spec: { ...app().spec, id: '/old' }, version: V2 }]);
    expect(b.view(app(), 2000)).toEqual({ failures: 3, delayMs: 8000, nextLaunchAt: 9000 });
    expect(b.delayLeft({ ...app(), spec: { ...app().spec, id: '/old' }, version: V2 }, 2000)).toBe(0);
    // The next failure continues from it.
    b.failed(app(), 9500);
    expect(b.record(app())).toMatchObject({ failures: 4, delayMs: 10_000 });
  });

  it('caps a persisted delay at what the app allows now', () => {
    const b = new LaunchBackoff();
    b.restore([app({ launchBackoff: { version: V1, failures: 9, delayMs: 86_400_000, lastFailureAt: 1000, nextLaunchAt: 86_401_000 } })]);
    expect(b.view(app(), 1000)).toEqual({ failures: 9, delayMs: 10_000, nextLaunchAt: 11_000 });
  });

  it('resets once a task started after the last failure has run long enough, restored or not', () => {
    const b = new LaunchBackoff(30_000);
    b.restore([app({ launchBackoff: { version: V1, failures: 2, delayMs: 4000, lastFailureAt: 1000, nextLaunchAt: 5000 } })]);
    const survivor: TaskRecord = taskRecord('t', { appId: '/web', appVersion: V1, state: 'RUNNING', startedAt: 6000 });
    b.resetIfRecovered(app(), [survivor], 20_000);
    expect(b.view(app(), 20_000).failures).toBe(2);
    b.resetIfRecovered(app(), [survivor], 36_000);
    expect(b.view(app(), 36_000)).toEqual({ failures: 0, delayMs: 0 });
  });
});
