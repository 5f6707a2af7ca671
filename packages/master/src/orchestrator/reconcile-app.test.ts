/**
 * reconcileApp, case by case (Nomad's reconcile_test.go style): each case
 * names a situation, gives the app's facts, and states the exact decision.
 * Tasks are named by what they are: `old-*` run the previous version,
 * `new-*` the current one; their numbers order them by age (higher is
 * younger).
 */
import { AppSpec, KillSelection } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import type { AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../model/records.js';
import { type AppFacts, type AppReconcileResult, killMessage, reconcileApp, type ReconcilePolicy } from './reconcile-app.js';
import { reconcileLeftovers } from './reconcile-leftovers.js';

const NOW = 1_000_000;
const OLD = 'v1';
const NEW = 'v2';
const POLICY: ReconcilePolicy = { minRunningMs: 5000, healthKillFraction: 0.25 };

function app(instances: number, extra: Partial<AppSpec> = {}, version = NEW): AppRecord {
  return { spec: AppSpec.fromPartial({ id: '/web', cmd: 'serve', instances, ...extra }), version, createdAt: 0 };
}

/** A task RUNNING long enough to count as healthy (no health checks), unless told otherwise. */
function task(name: string, extra: Partial<TaskRecord> = {}): TaskRecord {
  const [version, n] = name.split('-') as [string, string];
  return {
    id: name,
    appId: '/web',
    appVersion: version === 'old' ? OLD : NEW,
    agentId: 'agent-a',
    host: 'a',
    state: 'RUNNING',
    resources: { cpus: 0.1, mem: 16, disk: 0, gpus: 0 },
    ports: [],
    stagedAt: Number(n),
    startedAt: NOW - 60_000,
    updatedAt: Number(n),
    killRequested: false,
    killGracePeriodSeconds: 3,
    ...extra,
  };
}

/** A task UNREACHABLE for `ms` (its agent was declared silent then). */
const unreachable = (name: string, ms: number) => task(name, { state: 'UNREACHABLE', reason: 'AGENT_UNREACHABLE', unreachableSince: NOW - ms });

/** An app that waits `seconds` before replacing an UNREACHABLE task. */
const patient = (seconds: number) => ({ unreachableStrategy: { inactiveAfterSeconds: seconds, expungeAfterSeconds: 600, disabled: false } });

/** A task that started `ms` ago (not yet counted healthy when below the min running time). */
const started = (name: string, ms: number, extra: Partial<TaskRecord> = {}) => task(name, { startedAt: NOW - ms, ...extra });

function deployment(extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: 'd1',
    appId: '/web',
    kind: 'UPDATE',
    state: 'RUNNING',
    version: NEW,
    fromVersion: OLD,
    targetInstances: 4,
    minHealthy: 4,
    maxLive: 6,
    progressDeadlineMs: 60_000,
    startedAt: NOW - 10_000,
    lastProgressAt: NOW - 10_000,
    progressMark: '0/4',
    ...extra,
  };
}

const FROM: VersionRecord = { appId: '/web', version: OLD, spec: AppSpec.fromPartial({ id: '/web', cmd: 'old', instances: 4 }) };

function facts(a: AppRecord, tasks: TaskRecord[], extra: Partial<AppFacts> = {}): AppFacts {
  return { app: a, tasks, draining: new Set(), deployment: undefined, deploymentFrom: undefined, backoff: { leftMs: 0, delayMs: 0 }, now: NOW, newId: () => 'rollback-1', ...extra };
}

/** The decision in a form a table can state. */
function summary(r: AppReconcileResult): { launch: number; kill: string[]; wait?: string; wakeInMs?: number; deployment: string } {
  return {
    launch: r.launch,
    kill: r.kill.map((k) => `${k.task.id}: ${killMessage(k)}`),
    ...(r.wait ? { wait: `${r.wait.instances}: ${r.wait.explanation.summary}` } : {}),
    ...(r.wakeInMs !== undefined ? { wakeInMs: r.wakeInMs } : {}),
    deployment: r.deployment.kind,
  };
}

const strategy = (minimumHealthCapacity: number, maximumOverCapacity: number) => ({ upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity, progressDeadlineSeconds: 60 } });

describe('reconcileApp', () => {
  it.each<{ name: string; facts: AppFacts; policy?: ReconcilePolicy; expected: ReturnType<typeof summary> }>([
    // ---- scaling ----
    { name: 'a new app launches every instance', facts: facts(app(3), []), expected: { launch: 3, kill: [], deployment: 'unchanged' } },
    { name: 'scale up launches the difference', facts: facts(app(4), [task('new-1'), task('new-2')]), expected: { launch: 2, kill: [], deployment: 'unchanged' } },
    {
      name: 'scale down kills the youngest',
      facts: facts(app(2), [task('new-1'), task('new-3'), task('new-2'), task('new-4')]),
      expected: { launch: 0, kill: ['new-4: scaled down to 2 instances', 'new-3: scaled down to 2 instances'], deployment: 'unchanged' },
    },
    { name: 'scale to zero kills every task', facts: facts(app(0), [task('new-1')]), expected: { launch: 0, kill: ['new-1: scaled down to 0 instances'], deployment: 'unchanged' } },
    { name: 'an app at its count does nothing', facts: facts(app(2), [task('new-1'), task('new-2')]), expected: { launch: 0, kill: [], deployment: 'unchanged' } },
    // ---- lost and stopping tasks ----
    { name: 'a lost task (gone from the live tasks) is replaced', facts: facts(app(3), [task('new-1'), task('new-2')]), expected: { launch: 1, kill: [], deployment: 'unchanged' } },
    {
      name: 'a task being killed does not count, but takes room until it is gone',
      facts: facts(app(2, strategy(1, 0)), [task('new-1'), task('new-2', { killRequested: true })]),
      expected: { launch: 0, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'a task being killed is replaced at once when there is room over capacity',
      facts: facts(app(2, strategy(1, 0.5)), [task('new-1'), task('new-2', { killRequested: true })]),
      expected: { launch: 1, kill: [], deployment: 'unchanged' },
    },
    // ---- unreachable tasks (their agent went silent) and healed partitions ----
    {
      name: 'an UNREACHABLE task is replaced at once by default (inactiveAfterSeconds 0)',
      facts: facts(app(2), [task('new-1'), unreachable('new-2', 1)]),
      expected: { launch: 1, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'an UNREACHABLE task still counts within inactiveAfterSeconds, and the app is looked at again when it stops counting',
      facts: facts(app(2, patient(60)), [task('new-1'), unreachable('new-2', 20_000)]),
      expected: { launch: 0, kill: [], wakeInMs: 40_000, deployment: 'unchanged' },
    },
    {
      name: 'an UNREACHABLE task past inactiveAfterSeconds is replaced',
      facts: facts(app(2, patient(60)), [task('new-1'), unreachable('new-2', 60_000)]),
      expected: { launch: 1, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'an inactive UNREACHABLE task takes no room under maxLive (no over-capacity allowed)',
      facts: facts(app(2, strategy(1, 0)), [task('new-1'), unreachable('new-2', 1)]),
      expected: { launch: 1, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'unreachableStrategy "disabled": an UNREACHABLE task never counts',
      facts: facts(app(1, { unreachableStrategy: { disabled: true } }), [unreachable('new-1', 1)]),
      expected: { launch: 1, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'healed partition: the original came back beside its replacement; YOUNGEST_FIRST kills the replacement',
      facts: facts(app(2), [task('new-1'), task('new-2'), task('new-3')]),
      expected: { launch: 0, kill: ['new-3: scaled down to 2 instances'], deployment: 'unchanged' },
    },
    {
      name: 'healed partition with OLDEST_FIRST: the oldest copy goes',
      facts: facts(app(2, { killSelection: KillSelection.KILL_SELECTION_OLDEST_FIRST }), [task('new-1'), task('new-2'), task('new-3')]),
      expected: { launch: 0, kill: ['new-1: scaled down to 2 instances'], deployment: 'unchanged' },
    },
    {
      name: 'healed partition of a singleton whose replacement is still starting: the replacement goes, never both',
      facts: facts(app(1), [task('new-1'), task('new-2', { state: 'STARTING', startedAt: undefined })]),
      expected: { launch: 0, kill: ['new-2: scaled down to 1 instance'], deployment: 'unchanged' },
    },
    // ---- rolling upgrades within the strategy ----
    {
      name: 'an upgrade starts new tasks within maximumOverCapacity and kills nothing while all are needed healthy',
      facts: facts(app(4, strategy(1, 0.5)), [task('old-1'), task('old-2'), task('old-3'), task('old-4')]),
      expected: { launch: 2, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'new tasks that are healthy let as many old ones go, youngest first',
      facts: facts(app(4, strategy(1, 0.5)), [task('old-1'), task('old-2'), task('old-3'), task('old-4'), task('new-5'), task('new-6')]),
      expected: { launch: 0, kill: ['old-4: replaced by version v2', 'old-3: replaced by version v2'], deployment: 'unchanged' },
    },
    {
      name: 'new tasks that have not run long enough do not count: old ones stay',
      facts: facts(app(4, strategy(1, 0.5)), [task('old-1'), task('old-2'), task('old-3'), task('old-4'), started('new-5', 1000), started('new-6', 4999)]),
      expected: { launch: 0, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'old tasks that are not RUNNING go at once, whatever the strategy',
      facts: facts(app(2, strategy(1, 0)), [task('old-1'), task('old-2', { state: 'STAGING' })]),
      expected: { launch: 0, kill: ['old-2: replaced by version v2'], deployment: 'unchanged' },
    },
    {
      name: 'minimumHealthCapacity 0 replaces everything at once',
      facts: facts(app(3, strategy(0, 0)), [task('old-1'), task('old-2'), task('old-3')]),
      expected: { launch: 0, kill: ['old-3: replaced by version v2', 'old-2: replaced by version v2', 'old-1: replaced by version v2'], deployment: 'unchanged' },
    },
    {
      name: 'minimumHealthCapacity 0.5 lets half go before replacements exist',
      facts: facts(app(4, strategy(0.5, 0)), [task('old-1'), task('old-2'), task('old-3'), task('old-4')]),
      expected: { launch: 0, kill: ['old-4: replaced by version v2', 'old-3: replaced by version v2'], deployment: 'unchanged' },
    },
    {
      name: 'an old task with checks that fail goes at once',
      facts: facts(app(2, { ...strategy(1, 0), healthChecks: [{ protocol: 1 } as never] }), [task('old-1', { health: 'HEALTHY' }), task('old-2', { health: 'UNHEALTHY' })]),
      expected: { launch: 0, kill: ['old-2: replaced by version v2'], deployment: 'unchanged' },
    },
    {
      name: 'an old task without checks that has not run long enough is spared like a healthy one',
      facts: facts(app(1, strategy(1, 1)), [started('old-1', 1000), task('new-2')]),
      expected: { launch: 0, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'the running deployment’s limits apply, not the spec’s',
      facts: facts(app(4, strategy(0, 0)), [task('old-1'), task('old-2'), task('old-3'), task('old-4')], { deployment: deployment({ minHealthy: 4, maxLive: 5, progressMark: '0/4' }), deploymentFrom: FROM }),
      expected: { launch: 1, kill: [], wakeInMs: 50_000, deployment: 'unchanged' },
    },
    // ---- backoff ----
    {
      name: 'a launch backoff holds missing instances back and says why',
      facts: facts(app(2, {}, NEW), [task('new-1')], { backoff: { leftMs: 500, delayMs: 1000 } }),
      expected: { launch: 0, kill: [], wait: '1: launch delayed 0.5 s of 1.00 s after repeated failures', wakeInMs: 500, deployment: 'unchanged' },
    },
    {
      name: 'a backoff names the last failure',
      facts: facts({ ...app(1), lastTaskFailure: { taskId: 't', agentId: 'a', host: 'a', timestamp: 1, state: 'FAILED', message: 'exited with code 1', stderrTail: '', appVersion: NEW } }, [], { backoff: { leftMs: 1500, delayMs: 1500 } }),
      expected: { launch: 0, kill: [], wait: '1: launch delayed 1.5 s of 1.50 s after repeated failures: last task failed (exited with code 1)', wakeInMs: 1500, deployment: 'unchanged' },
    },
    { name: 'a backoff with nothing missing is no wait', facts: facts(app(1), [task('new-1')], { backoff: { leftMs: 500, delayMs: 1000 } }), expected: { launch: 0, kill: [], deployment: 'unchanged' } },
    {
      name: 'a backoff does not hold back kills',
      facts: facts(app(1), [task('new-1'), task('new-2')], { backoff: { leftMs: 500, delayMs: 1000 } }),
      expected: { launch: 0, kill: ['new-2: scaled down to 1 instance'], deployment: 'unchanged' },
    },
    // ---- drains ----
    {
      name: 'a task on a draining agent is replaced first, and stays while it is needed healthy',
      facts: facts(app(2, strategy(1, 0.5)), [task('new-1'), task('new-2', { agentId: 'agent-d' })], { draining: new Set(['agent-d']) }),
      expected: { launch: 1, kill: [], deployment: 'unchanged' },
    },
    {
      name: 'a task on a draining agent goes once its replacement is healthy',
      facts: facts(app(2, strategy(1, 0.5)), [task('new-1'), task('new-2', { agentId: 'agent-d' }), task('new-3')], { draining: new Set(['agent-d']) }),
      expected: { launch: 0, kill: ['new-2: moved off a draining agent'], deployment: 'unchanged' },
    },
    // ---- health ----
    {
      name: 'tasks failing their checks are replaced a fraction at a time, longest failing first',
      facts: facts(app(4, strategy(1, 0.5)), [task('new-1', { healthFailed: true, updatedAt: 40 }), task('new-2', { healthFailed: true, updatedAt: 10 }), task('new-3', { healthFailed: true, updatedAt: 30 }), task('new-4', { healthFailed: true, updatedAt: 20 })]),
      expected: { launch: 1, kill: ['new-2: health checks failed 0 times in a row: no output'], deployment: 'unchanged' },
    },
    {
      name: 'a health kill in flight and its starting replacement count once against the budget',
      facts: facts(app(4, { ...strategy(1, 0.5), healthChecks: [{ protocol: 1 } as never] }), [
        task('new-1', { killRequested: true, healthKill: true, health: 'UNHEALTHY' }),
        task('new-2', { healthFailed: true, health: 'UNHEALTHY', healthFailures: 3, healthMessage: 'HTTP 503' }),
        task('new-3', { health: 'HEALTHY', everHealthy: true }),
        task('new-4', { health: 'HEALTHY', everHealthy: true }),
        task('new-5', { health: 'UNKNOWN' }),
      ]),
      policy: { ...POLICY, healthKillFraction: 0.5 },
      expected: { launch: 1, kill: ['new-2: health checks failed 3 times in a row: HTTP 503'], deployment: 'unchanged' },
    },
    {
      name: 'no health kill while the budget is taken by replacements that are not healthy yet',
      facts: facts(app(4, { ...strategy(1, 0.5), healthChecks: [{ protocol: 1 } as never] }), [
        task('new-1', { healthFailed: true, health: 'UNHEALTHY' }),
        task('new-2', { health: 'HEALTHY', everHealthy: true }),
        task('new-3', { health: 'HEALTHY', everHealthy: true }),
        task('new-4', { health: 'UNKNOWN' }),
      ]),
      expected: { launch: 0, kill: [], deployment: 'unchanged' },
    },
  ])('$name', ({ facts: f, policy, expected }) => {
    expect(summary(reconcileApp(f, policy ?? POLICY))).toEqual(expected);
  });
});

describe('reconcileApp: the running deployment’s next step', () => {
  const upgraded = (tasks: TaskRecord[], d: Partial<DeploymentRecord> = {}, extra: Partial<AppFacts> = {}) =>
    facts(app(4, strategy(1, 0.5)), tasks, { deployment: deployment(d), deploymentFrom: FROM, ...extra });

  it.each<{ name: string; facts: AppFacts; expected: { kind: string; wakeInMs?: number; state?: string; mark?: string } }>([
    { name: 'done: the target healthy and nothing else left', facts: upgraded([task('new-1'), task('new-2'), task('new-3'), task('new-4')]), expected: { kind: 'succeeded', state: 'SUCCEEDED', mark: '4/0' } },
    { name: 'closer to done: the mark moves and the deadline restarts', facts: upgraded([task('old-1'), task('old-2'), task('old-3'), task('old-4'), task('new-5')]), expected: { kind: 'progressed', wakeInMs: 60_000, mark: '1/4' } },
    {
      name: 'closer to done with a task about to count: look again then',
      facts: upgraded([task('old-1'), task('old-2'), task('old-3'), task('new-5'), started('new-6', 3000)]),
      expected: { kind: 'progressed', wakeInMs: 2000, mark: '1/3' },
    },
    { name: 'no progress yet: look again at the deadline', facts: upgraded([task('old-1'), task('old-2'), task('old-3'), task('old-4')]), expected: { kind: 'unchanged', wakeInMs: 50_000 } },
    { name: 'a task settling is not a stall, even past the deadline', facts: upgraded([task('old-1'), started('new-5', 4000)], { lastProgressAt: NOW - 120_000, progressMark: '0/1' }), expected: { kind: 'unchanged', wakeInMs: 1000 } },
    { name: 'stalled past the deadline: rolled back to where it came from', facts: upgraded([task('old-1'), task('old-2'), task('old-3'), task('old-4')], { lastProgressAt: NOW - 60_000 }), expected: { kind: 'rolledBack', state: 'FAILED' } },
    { name: 'a stalled scale fails without a rollback', facts: upgraded([task('old-1')], { kind: 'SCALE', lastProgressAt: NOW - 61_000, progressMark: '0/1' }), expected: { kind: 'failed', state: 'FAILED' } },
    { name: 'a stalled rollback fails without another rollback', facts: upgraded([task('old-1')], { kind: 'ROLLBACK', lastProgressAt: NOW - 61_000, progressMark: '0/1' }), expected: { kind: 'failed', state: 'FAILED' } },
    { name: 'a stalled change whose old version is gone fails', facts: upgraded([task('old-1')], { lastProgressAt: NOW - 61_000, progressMark: '0/1' }, { deploymentFrom: undefined }), expected: { kind: 'failed', state: 'FAILED' } },
  ])('$name', ({ facts: f, expected }) => {
    const step = reconcileApp(f, POLICY).deployment;
    const record = step.kind === 'rolledBack' ? step.ended : 'deployment' in step ? step.deployment : undefined;
    expect({
      kind: step.kind,
      ...('wakeInMs' in step && step.wakeInMs !== undefined ? { wakeInMs: step.wakeInMs } : {}),
      ...(record && record.state !== 'RUNNING' ? { state: record.state } : {}),
      ...(record && step.kind !== 'failed' && step.kind !== 'rolledBack' ? { mark: record.progressMark } : {}),
    }).toEqual(expected);
  });

  it('a rollback restores the old spec and starts a ROLLBACK deployment measured on the tasks as they are', () => {
    const step = reconcileApp(facts(app(4, strategy(1, 0.5)), [task('old-1'), task('old-2'), task('new-3')], { deployment: deployment({ lastProgressAt: NOW - 70_000, progressMark: '1/2' }), deploymentFrom: FROM }), POLICY).deployment;
    expect(step.kind).toBe('rolledBack');
    if (step.kind !== 'rolledBack') return;
    expect(step.app).toMatchObject({ version: OLD, spec: { cmd: 'old', instances: 4 } });
    expect(step.ended).toMatchObject({ state: 'FAILED', endedAt: NOW, rollbackId: 'rollback-1', message: 'no progress for 70 s (progress deadline 60 s); rolling back to v1' });
    expect(step.rollback).toMatchObject({ id: 'rollback-1', kind: 'ROLLBACK', state: 'RUNNING', version: OLD, fromVersion: NEW, rollsBack: 'd1', progressMark: '2/1', startedAt: NOW });
  });

  it('decides from its arguments alone: the same facts give the same result', () => {
    const f = upgraded([task('old-1'), task('old-2'), task('new-3')]);
    expect(reconcileApp(f, POLICY)).toEqual(reconcileApp(f, POLICY));
  });
});

describe('reconcileLeftovers', () => {
  const agent = (id: string, drainDeadline?: number) => ({ id, hostname: `${id}.host`, address: '', total: { cpus: 1, mem: 1, disk: 0, gpus: 0 }, ports: [], attributes: {}, state: 'ACTIVE' as const, version: '', registeredAt: 0, lastSeenAt: 0, ...(drainDeadline !== undefined ? { drainDeadline } : {}) });

  it.each([
    { name: 'nothing left over', facts: { ofDeletedApps: new Map(), draining: [], now: NOW }, expected: { kill: [] } },
    {
      name: 'tasks of a deleted app are killed, but not adopted ones nor those already being killed',
      facts: { ofDeletedApps: new Map([['/gone', [task('new-1'), task('new-2', { adopted: true }), task('new-3', { killRequested: true })]]]), draining: [], now: NOW },
      expected: { kill: ['new-1: app /gone was deleted'] },
    },
    {
      name: 'a drain deadline still ahead only sets a wake-up',
      facts: { ofDeletedApps: new Map(), draining: [{ agent: agent('a', NOW + 3000), tasks: [task('new-1')] }, { agent: agent('b', NOW + 1000), tasks: [] }], now: NOW },
      expected: { kill: [], wakeInMs: 1000 },
    },
    {
      name: 'past the drain deadline, everything still on the agent is killed',
      facts: { ofDeletedApps: new Map(), draining: [{ agent: agent('a', NOW), tasks: [task('new-1'), task('new-2', { killRequested: true })] }], now: NOW },
      expected: { kill: ['new-1: agent a.host drained (deadline passed)'] },
    },
  ])('$name', ({ facts: f, expected }) => {
    const r = reconcileLeftovers(f);
    expect({ kill: r.kill.map((k) => `${k.task.id}: ${k.why}`), ...(r.wakeInMs !== undefined ? { wakeInMs: r.wakeInMs } : {}) }).toEqual(expected);
  });
});
