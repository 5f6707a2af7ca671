import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../model/records.js';
import { improvedSince, isComplete, type Progress, progressMark, progressOf } from './deployment-progress.js';

const NOW = 1_000_000;
const MIN = 5000;
let n = 0;

/** A task of version `v`: RUNNING for long, no checks, unless told otherwise. */
function task(v: string, fields: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id: `t${n++}`,
    appId: '/web',
    appVersion: v,
    agentId: 'a',
    host: 'a.test',
    state: 'RUNNING',
    resources: { cpus: 0.1, mem: 16, disk: 0, gpus: 0 },
    ports: [],
    stagedAt: NOW - 600_000,
    startedAt: NOW - 600_000,
    updatedAt: NOW,
    killRequested: false,
    killGracePeriodSeconds: 3,
    ...fields,
  };
}

const justStarted = { startedAt: NOW - 30 };
const failedAtStart = { state: 'FAILED' as const, startedAt: NOW - 40, endedAt: NOW - 30, message: 'exited with code 1' };

describe('deployment progress', () => {
  it.each<{ name: string; tasks: TaskRecord[]; instances: number; want: Partial<Progress>; complete: boolean }>([
    {
      name: 'a new app, all healthy',
      tasks: [task('v2'), task('v2')],
      instances: 2,
      want: { newLive: 2, newHealthy: 2, oldRemaining: 0, surplusRemaining: 0, settling: 0 },
      complete: true,
    },
    {
      name: 'a rolling update half way',
      tasks: [task('v2'), task('v2'), task('v1'), task('v1', { killRequested: true, state: 'KILLING' })],
      instances: 2,
      want: { newLive: 2, newHealthy: 2, oldRemaining: 2, surplusRemaining: 0, healthyTotal: 3 },
      complete: false,
    },
    {
      name: 'a task that failed at start (EADDRINUSE) never counts',
      tasks: [task('v2'), task('v2', failedAtStart)],
      instances: 2,
      want: { newLive: 1, newHealthy: 1, surplusRemaining: 0, liveTotal: 1 },
      complete: false,
    },
    {
      name: 'tasks without checks that only just started are settling, not healthy',
      tasks: [task('v2', justStarted), task('v2', { startedAt: NOW - 4000 })],
      instances: 2,
      want: { newLive: 2, newHealthy: 0, settling: 2, settledInMs: 1000 },
      complete: false,
    },
    {
      name: 'tasks with passing checks count at once',
      tasks: [task('v2', { ...justStarted, health: 'HEALTHY' }), task('v2', { ...justStarted, health: 'UNKNOWN' })],
      instances: 2,
      want: { newHealthy: 1, settling: 0 },
      complete: false,
    },
    {
      name: 'a scale down from 3 to 2 before the surplus task is picked: 2/2, one surplus',
      tasks: [task('v1'), task('v1'), task('v1')],
      instances: 2,
      want: { newLive: 2, newHealthy: 2, oldRemaining: 0, surplusRemaining: 1, healthyTotal: 3 },
      complete: false,
    },
    {
      name: 'a scale down while the surplus task is being killed',
      tasks: [task('v1'), task('v1'), task('v1', { killRequested: true })],
      instances: 2,
      want: { newLive: 2, newHealthy: 2, surplusRemaining: 1, healthyTotal: 2 },
      complete: false,
    },
    {
      name: 'a scale down done',
      tasks: [task('v1'), task('v1'), task('v1', { killRequested: true, state: 'KILLED' })],
      instances: 2,
      want: { newLive: 2, newHealthy: 2, surplusRemaining: 0 },
      complete: true,
    },
    {
      name: 'scale to zero with a task left',
      tasks: [task('v1', { killRequested: true, state: 'KILLING' })],
      instances: 0,
      want: { newLive: 0, newHealthy: 0, surplusRemaining: 1 },
      complete: false,
    },
    {
      name: 'a replacement being killed for failing its checks is surplus too',
      tasks: [task('v2', { health: 'HEALTHY' }), task('v2', { health: 'UNHEALTHY', killRequested: true, healthKill: true })],
      instances: 2,
      want: { newLive: 1, newHealthy: 1, surplusRemaining: 1 },
      complete: false,
    },
  ])('$name', ({ tasks, instances, want, complete }) => {
    const p = progressOf(tasks, { version: tasks.find((t) => t.appVersion === 'v2') ? 'v2' : 'v1', instances, now: NOW, minRunningMs: MIN });
    expect(p).toMatchObject(want);
    expect(p.newHealthy).toBeLessThanOrEqual(instances);
    expect(p.newLive).toBeLessThanOrEqual(instances);
    expect(isComplete(p, instances)).toBe(complete);
  });

  it.each([
    { name: 'a new healthy task', mark: '1/2', p: { newHealthy: 2, oldRemaining: 2, surplusRemaining: 0 }, improved: true },
    { name: 'an old task gone', mark: '1/2', p: { newHealthy: 1, oldRemaining: 1, surplusRemaining: 0 }, improved: true },
    { name: 'a surplus task gone', mark: '2/1', p: { newHealthy: 2, oldRemaining: 0, surplusRemaining: 0 }, improved: true },
    { name: 'nothing moved', mark: '1/2', p: { newHealthy: 1, oldRemaining: 2, surplusRemaining: 0 }, improved: false },
    { name: 'a replacement killed and gone again (crash loop)', mark: '1/0', p: { newHealthy: 1, oldRemaining: 0, surplusRemaining: 0 }, improved: false },
    { name: 'a first mark', mark: '', p: { newHealthy: 0, oldRemaining: 3, surplusRemaining: 0 }, improved: true },
  ])('improvement: $name', ({ mark, p, improved }) => {
    expect(improvedSince(mark, { ...p, healthyTotal: 0, liveTotal: 0, newLive: 0, settling: 0 })).toBe(improved);
  });

  it('marks new healthy over everything left to go', () => {
    expect(progressMark({ newHealthy: 2, oldRemaining: 1, surplusRemaining: 2 })).toBe('2/3');
  });
});
