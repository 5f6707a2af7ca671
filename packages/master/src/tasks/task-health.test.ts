import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../model/records.js';
import { healthyInMs, isHealthy } from './task-health.js';

const NOW = 1_000_000;
const MIN = 5000;

function task(fields: Partial<TaskRecord>): TaskRecord {
  return {
    id: 't',
    appId: '/web',
    appVersion: 'v1',
    agentId: 'a',
    host: 'a.test',
    state: 'RUNNING',
    resources: { cpus: 0.1, mem: 16, disk: 0, gpus: 0 },
    ports: [],
    stagedAt: NOW - 60_000,
    updatedAt: NOW,
    killRequested: false,
    killGracePeriodSeconds: 3,
    ...fields,
  };
}

describe('task health', () => {
  it.each<{ name: string; task: Partial<TaskRecord>; healthy: boolean; inMs: number | undefined }>([
    { name: 'no checks, just started', task: { startedAt: NOW - 20 }, healthy: false, inMs: MIN - 20 },
    { name: 'no checks, running for the min running time', task: { startedAt: NOW - MIN }, healthy: true, inMs: 0 },
    { name: 'no checks, running for long', task: { startedAt: NOW - 600_000 }, healthy: true, inMs: 0 },
    { name: 'no checks, failed at start (EADDRINUSE)', task: { state: 'FAILED', startedAt: NOW - 20, endedAt: NOW - 10 }, healthy: false, inMs: undefined },
    { name: 'no checks, still starting', task: { state: 'STARTING' }, healthy: false, inMs: undefined },
    { name: 'no checks, a kill requested', task: { startedAt: NOW - 600_000, killRequested: true }, healthy: false, inMs: undefined },
    { name: 'no checks, being killed', task: { state: 'KILLING', startedAt: NOW - 600_000 }, healthy: false, inMs: undefined },
    { name: 'no checks, no start time (counted)', task: {}, healthy: true, inMs: 0 },
    { name: 'checks pass, just started: the checks are the evidence', task: { startedAt: NOW - 20, health: 'HEALTHY' }, healthy: true, inMs: 0 },
    { name: 'checks not run yet', task: { startedAt: NOW - 600_000, health: 'UNKNOWN' }, healthy: false, inMs: undefined },
    { name: 'checks failing', task: { startedAt: NOW - 600_000, health: 'UNHEALTHY' }, healthy: false, inMs: undefined },
  ])('$name', ({ task: fields, healthy, inMs }) => {
    expect(isHealthy(task(fields), NOW, MIN)).toBe(healthy);
    expect(healthyInMs(task(fields), NOW, MIN)).toBe(inMs);
  });
});
