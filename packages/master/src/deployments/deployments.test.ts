/**
 * Deployments over time (fake timers), with the master's event stream as
 * the record of what happened: rolling upgrades within the strategy,
 * failed deployments rolling back, locks, cancel, versions.
 */
import { AppSpec, type Event, HealthCheckProtocol, HealthState, taskStateCodec } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CoreAgent, type CoreHarness, startCore } from '../testing/core-harness.js';

let h: CoreHarness;

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});

afterEach(async () => {
  await h?.close();
  vi.useRealTimers();
});

async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

async function advance(ms: number, stepMs = 10): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await vi.advanceTimersByTimeAsync(Math.min(stepMs, ms - t));
    await tick();
  }
}

const HTTP_CHECK = { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP, path: '/', portIndex: 0, intervalSeconds: 1, timeoutSeconds: 0.5, gracePeriodSeconds: 5, maxConsecutiveFailures: 3, delaySeconds: 0 };

function app(id: string, cmd: string, instances: number, extra: Partial<AppSpec> = {}): AppSpec {
  return AppSpec.fromPartial({
    id,
    cmd,
    cpus: 0.1,
    mem: 16,
    instances,
    portDefinitions: [{ port: 0, protocol: 'tcp', name: '', labels: {} }],
    healthChecks: [HTTP_CHECK],
    ...extra,
  });
}

/**
 * Plays the agent: launched tasks start RUNNING; `healthy(task)` decides
 * whether each becomes healthy; kills end with KILLED. One step per call.
 */
async function playAgent(agent: CoreAgent, healthy: (taskId: string) => boolean): Promise<void> {
  for (const id of agent.launched()) {
    await agent.report(id, 'RUNNING');
    if (healthy(id)) await agent.health(id, 'HEALTHY');
    else await agent.health(id, 'UNHEALTHY', { healthMessage: 'HTTP 503 from /' });
  }
  await agent.finishKills();
}

/** Replays status and health events into counts over time, starting from the tasks live now. */
function recorder() {
  const tasks = new Map<string, { state: string; healthy: boolean; version: string }>();
  for (const t of h.core.tasks.list().tasks) {
    tasks.set(t.id, { state: taskStateCodec.name(t.state) ?? '?', healthy: t.health === HealthState.HEALTH_STATE_HEALTHY, version: t.appVersion });
  }
  const samples: Array<{ healthy: number; running: number }> = [];
  const onEvent = (e: Event) => {
    const p = e.payload;
    if (p?.$case === 'taskStatus' && p.value.task) {
      const t = p.value.task;
      tasks.set(t.id, { state: taskStateCodec.name(t.state) ?? '?', healthy: tasks.get(t.id)?.healthy ?? false, version: t.appVersion });
    } else if (p?.$case === 'healthChanged' && p.value.task) {
      const t = p.value.task;
      const prev = tasks.get(t.id);
      tasks.set(t.id, { state: prev?.state ?? 'RUNNING', healthy: p.value.alive, version: t.appVersion });
    } else return;
    const live = [...tasks.values()].filter((t) => ['STAGING', 'STARTING', 'RUNNING', 'KILLING'].includes(t.state));
    samples.push({ healthy: live.filter((t) => t.state === 'RUNNING' && t.healthy).length, running: live.filter((t) => t.state === 'RUNNING' || t.state === 'KILLING').length });
  };
  return { tasks, samples, onEvent };
}

describe('rolling upgrades', () => {
  it('upgrades 6 instances with minimumHealthCapacity 1, maximumOverCapacity 0.5: never under 6 healthy or over 9 running', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a', { resources: { cpus: 8, mem: 8192, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31099 }] } });
    const strategy = { upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5, progressDeadlineSeconds: 600 } };
    await h.core.apps.deploy(app('web', 'v1', 6, strategy));
    for (let i = 0; i < 20; i++) {
      await playAgent(agent, () => true);
      await advance(20);
    }
    expect(h.core.apps.get('web').status).toMatchObject({ tasksHealthy: 6, deployments: [] });

    const rec = recorder();
    h.core.events.subscribe(rec.onEvent);
    const { deployment } = await h.core.apps.deploy(app('web', 'v2', 6, strategy));
    expect(deployment).toMatchObject({ minHealthy: 6, maxLive: 9 });
    for (let i = 0; i < 60 && h.core.apps.get('web').status?.deployments.length; i++) {
      await playAgent(agent, () => true);
      await advance(20);
    }
    expect(rec.samples.length).toBeGreaterThan(20);
    expect(Math.min(...rec.samples.map((s) => s.healthy))).toBeGreaterThanOrEqual(6);
    expect(Math.max(...rec.samples.map((s) => s.running))).toBeLessThanOrEqual(9);
    const done = h.core.deployments.get(deployment?.id ?? '');
    expect(done.state).toBe(2); // SUCCEEDED
    const version = h.core.apps.get('web').version;
    const live = h.core.tasks.list({ appId: 'web' }).tasks;
    expect(live).toHaveLength(6);
    expect(live.every((t) => t.appVersion === version)).toBe(true);
  });

  it('a version whose health checks never pass fails at the progress deadline and rolls back, keeping the old version healthy', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a', { resources: { cpus: 8, mem: 8192, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31099 }] } });
    const strategy = { upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5, progressDeadlineSeconds: 5 } };
    await h.core.apps.deploy(app('api', 'good', 4, strategy));
    for (let i = 0; i < 20; i++) {
      await playAgent(agent, () => true);
      await advance(20);
    }
    const good = h.core.apps.get('api').version;
    const rec = recorder();
    const types: string[] = [];
    h.core.events.subscribe((e) => {
      rec.onEvent(e);
      types.push(e.type);
    });
    const { deployment } = await h.core.apps.deploy(app('api', 'broken', 4, strategy));
    for (let i = 0; i < 400; i++) {
      await playAgent(agent, (id) => h.core.state.task(id)?.appVersion === good);
      await advance(20);
    }
    const failed = h.core.deployments.get(deployment?.id ?? '');
    expect(failed.state).toBe(3); // FAILED
    expect(failed.message).toMatch(/^no progress for \d s \(progress deadline 5 s\); rolling back to /);
    const rollback = h.core.deployments.get(failed.rollbackId);
    expect(rollback).toMatchObject({ kind: 5, state: 2, rollsBack: failed.id }); // ROLLBACK, SUCCEEDED
    expect(h.core.apps.get('api')).toMatchObject({ version: good, spec: expect.objectContaining({ cmd: 'good' }) });
    expect(Math.min(...rec.samples.map((s) => s.healthy))).toBeGreaterThanOrEqual(4);
    expect(types).toEqual(expect.arrayContaining(['deployment_info', 'deployment_failed', 'deployment_success']));
    expect(h.core.tasks.list({ appId: 'api' }).tasks.every((t) => t.appVersion === good)).toBe(true);
  });
});

describe('health kills', () => {
  it('when every instance fails its checks at once, only the allowed fraction is replaced at a time', async () => {
    h = await startCore({ healthKillFraction: 0.25 });
    const agent = await h.agent('agent-a', { resources: { cpus: 8, mem: 8192, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31099 }] } });
    await h.core.apps.deploy(app('svc', 'x', 8));
    for (let i = 0; i < 20; i++) {
      await playAgent(agent, () => true);
      await advance(20);
    }
    const originals = h.core.tasks.list({ appId: 'svc' }).tasks.map((t) => t.id);
    expect(originals).toHaveLength(8);
    for (const id of originals) await agent.health(id, 'UNHEALTHY', { healthFailures: 3, healthFailed: true, healthMessage: 'HTTP 503 from /' });
    await advance(50);
    const firstWave = agent.take('kill');
    expect(firstWave).toHaveLength(2);
    expect(firstWave[0]?.message).toMatch(/^health checks failed 3 times in a row: HTTP 503 from \//);
    for (const k of firstWave) await agent.report(k.taskId, 'KILLED');
    // Replacements start but never get healthy (the dependency is still down): no further kills.
    for (let i = 0; i < 10; i++) {
      for (const id of agent.launched()) await agent.report(id, 'RUNNING');
      await advance(50);
    }
    expect(agent.take('kill')).toEqual([]);
    expect(h.core.apps.get('svc').status?.lastTaskFailure?.message).toMatch(/^health checks failed: HTTP 503/);
  });
});

describe('locks, cancel, versions', () => {
  it('refuses a second change while deploying unless forced; cancel rolls back, force just stops', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a');
    const first = await h.core.apps.deploy(app('l', 'one', 1));
    await expect(h.core.apps.deploy(app('l', 'two', 1))).rejects.toMatchObject({ code: 9, deploymentIds: [first.deployment?.id] });
    await expect(h.core.apps.scale('l', 3)).rejects.toMatchObject({ name: 'AppLockedError' });
    for (let i = 0; i < 5; i++) {
      await playAgent(agent, () => true);
      await advance(20);
    }
    const v1 = h.core.apps.get('l').version;
    const second = await h.core.apps.deploy(app('l', 'two', 1));
    const forced = await h.core.apps.deploy(app('l', 'three', 1), true);
    expect(h.core.deployments.get(second.deployment?.id ?? '')).toMatchObject({ state: 4, message: `replaced by deployment ${forced.deployment?.id}` });

    const { canceled, rollback } = await h.core.deployments.cancel(forced.deployment?.id ?? '', false);
    expect(canceled.state).toBe(4);
    expect(rollback?.kind).toBe(5);
    expect(h.core.apps.get('l').spec?.cmd).toBe('two');
    const stopped = await h.core.deployments.cancel(rollback?.id ?? '', true);
    expect(stopped.rollback).toBeUndefined();
    expect(h.core.deployments.list()).toEqual([]);

    const versions = h.core.apps.versions('l').map((v) => v.spec?.cmd);
    expect(versions).toEqual(['three', 'two', 'one']);
    const back = await h.core.apps.rollback('l', v1);
    expect(back.app.spec?.cmd).toBe('one');
    expect(back.app.version > v1).toBe(true);
    const restart = await h.core.apps.restart('l', true);
    expect(restart.kind).toBe(4); // RESTART
    expect(h.core.apps.versions('l')[0]?.spec?.cmd).toBe('one');
  });
});
