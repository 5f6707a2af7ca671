import { AppSpec } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../model/records.js';
import { expungeDue, inactiveInMs, markUnreachable, type UnreachablePolicy, unreachablePolicy } from './unreachable-tasks.js';

const NOW = 1_000_000;

function task(extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id: 't',
    appId: '/web',
    appVersion: 'v1',
    agentId: 'a',
    host: 'a',
    state: 'RUNNING',
    resources: { cpus: 0.1, mem: 16, disk: 0, gpus: 0 },
    ports: [],
    stagedAt: 1,
    updatedAt: 1,
    killRequested: false,
    killGracePeriodSeconds: 3,
    ...extra,
  };
}

const unreachableFor = (ms: number) => task({ state: 'UNREACHABLE', unreachableSince: NOW - ms });

describe('unreachablePolicy', () => {
  it.each<{ name: string; spec: AppSpec | undefined; expected: UnreachablePolicy }>([
    { name: 'no spec: the default', spec: undefined, expected: { disabled: false, inactiveAfterMs: 0, expungeAfterMs: 600_000 } },
    { name: 'a spec stored before strategies existed: the default', spec: AppSpec.fromPartial({ id: '/web' }), expected: { disabled: false, inactiveAfterMs: 0, expungeAfterMs: 600_000 } },
    {
      name: "Marathon's values",
      spec: AppSpec.fromPartial({ unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 } }),
      expected: { disabled: false, inactiveAfterMs: 300_000, expungeAfterMs: 600_000 },
    },
    { name: 'disabled', spec: AppSpec.fromPartial({ unreachableStrategy: { disabled: true, inactiveAfterSeconds: 5 } }), expected: { disabled: true } },
  ])('$name', ({ spec, expected }) => {
    expect(unreachablePolicy(spec)).toEqual(expected);
  });
});

describe('an unreachable task over time', () => {
  const patient: UnreachablePolicy = { disabled: false, inactiveAfterMs: 60_000, expungeAfterMs: 600_000 };
  it.each<{ name: string; task: TaskRecord; policy: UnreachablePolicy; inactiveInMs: number | undefined; expunge: boolean }>([
    { name: 'a RUNNING task is neither', task: task(), policy: patient, inactiveInMs: undefined, expunge: false },
    { name: 'just unreachable: still counts', task: unreachableFor(0), policy: patient, inactiveInMs: 60_000, expunge: false },
    { name: 'past inactiveAfter: replaced, not given up', task: unreachableFor(60_000), policy: patient, inactiveInMs: 0, expunge: false },
    { name: 'past expungeAfter: given up', task: unreachableFor(600_000), policy: patient, inactiveInMs: 0, expunge: true },
    { name: 'disabled: given up at once', task: unreachableFor(0), policy: { disabled: true }, inactiveInMs: 0, expunge: true },
  ])('$name', ({ task: t, policy, inactiveInMs: inactive, expunge }) => {
    expect(inactiveInMs(t, policy, NOW)).toBe(inactive);
    expect(expungeDue(t, policy, NOW)).toBe(expunge);
  });

  it.each<{ state: TaskRecord['state']; marked: boolean }>([
    { state: 'STAGING', marked: true },
    { state: 'STARTING', marked: true },
    { state: 'RUNNING', marked: true },
    { state: 'KILLING', marked: true },
    { state: 'UNREACHABLE', marked: false },
    { state: 'PENDING', marked: false },
    { state: 'FINISHED', marked: false },
    { state: 'LOST', marked: false },
  ])('a $state task is marked UNREACHABLE: $marked', ({ state, marked }) => {
    const out = markUnreachable(task({ state }), 'agent a silent for 3.1 s', NOW);
    if (!marked) expect(out).toBeUndefined();
    else expect(out).toMatchObject({ state: 'UNREACHABLE', reason: 'AGENT_UNREACHABLE', unreachableSince: NOW, message: 'agent a silent for 3.1 s' });
  });
});
