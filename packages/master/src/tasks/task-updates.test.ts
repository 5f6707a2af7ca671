import { scalars } from '@drover/common';
import { HealthState, TaskReason, TaskState, TaskStatus } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../model/records.js';
import { applyStatus, endByMaster } from './task-updates.js';

const task: TaskRecord = {
  id: 'web.1',
  appId: '/web',
  appVersion: 'v1',
  agentId: 'a1',
  host: 'h1',
  state: 'STAGING',
  resources: scalars({ cpus: 1 }),
  ports: [],
  stagedAt: 1000,
  updatedAt: 1000,
  killRequested: false,
  killGracePeriodSeconds: 3,
};

function status(state: TaskState, extra: Partial<TaskStatus> = {}): TaskStatus {
  return TaskStatus.fromPartial({ uuid: 'u', taskId: 'web.1', state, ...extra });
}

describe('task updates', () => {
  it('moves forward and records start and end', () => {
    const running = applyStatus(task, status(TaskState.TASK_STATE_RUNNING, { pid: 42, timestamp: new Date(2000) }), 2500);
    expect(running).toMatchObject({ state: 'RUNNING', pid: 42, startedAt: 2000, updatedAt: 2500 });
    const failed = applyStatus(
      running as TaskRecord,
      status(TaskState.TASK_STATE_FAILED, {
        exitCode: 3,
        reason: TaskReason.TASK_REASON_COMMAND_EXITED,
        message: 'exited with code 3',
        stderrTail: Buffer.from([0x62, 0x6f, 0x6f, 0x6d, 0xff, 0x0a]),
      }),
      3000,
    );
    // Invalid UTF-8 in stderr becomes U+FFFD rather than failing the update.
    expect(failed).toMatchObject({ state: 'FAILED', exitCode: 3, reason: 'COMMAND_EXITED', endedAt: 3000, startedAt: 2000, stderrTail: 'boom\ufffd\n' });
  });

  it.each([
    { name: 'a repeat', from: 'RUNNING' as const, to: TaskState.TASK_STATE_RUNNING },
    { name: 'an older state', from: 'RUNNING' as const, to: TaskState.TASK_STATE_STARTING },
    { name: 'anything after the end', from: 'LOST' as const, to: TaskState.TASK_STATE_RUNNING },
    { name: 'an unknown enum value', from: 'RUNNING' as const, to: 99 as TaskState },
  ])('ignores $name', ({ from, to }) => {
    expect(applyStatus({ ...task, state: from }, status(to), 5000)).toBeUndefined();
  });

  it('keeps the newest health when an older status arrives late (a journal replayed after a failover)', () => {
    const running = applyStatus(task, status(TaskState.TASK_STATE_RUNNING, { pid: 42, health: HealthState.HEALTH_STATE_UNKNOWN, timestamp: new Date(2000) }), 2100) as TaskRecord;
    const healthy = applyStatus(running, status(TaskState.TASK_STATE_RUNNING, { pid: 42, health: HealthState.HEALTH_STATE_HEALTHY, timestamp: new Date(4000) }), 4100) as TaskRecord;
    expect(healthy).toMatchObject({ health: 'HEALTHY', healthAt: 4000 });
    // The registration brought the latest status; the replay brings the first one again.
    expect(applyStatus(healthy, status(TaskState.TASK_STATE_RUNNING, { pid: 42, health: HealthState.HEALTH_STATE_UNKNOWN, timestamp: new Date(2000) }), 5000)).toBeUndefined();
    // A newer one still counts.
    expect(applyStatus(healthy, status(TaskState.TASK_STATE_RUNNING, { pid: 42, health: HealthState.HEALTH_STATE_UNHEALTHY, healthFailures: 1, timestamp: new Date(6000) }), 6100)).toMatchObject({ health: 'UNHEALTHY', healthAt: 6000 });
  });

  it('ends a live task as LOST once, and never an ended one', () => {
    const lost = endByMaster({ ...task, state: 'RUNNING' }, 'LOST', 'AGENT_LOST', 'agent silent', 9000);
    expect(lost).toMatchObject({ state: 'LOST', reason: 'AGENT_LOST', endedAt: 9000 });
    expect(endByMaster(lost as TaskRecord, 'LOST', 'AGENT_LOST', 'again', 9500)).toBeUndefined();
  });
});
