/**
 * Deployments over time (fake timers), with the master's event stream as
 * the record of what happened: rolling upgrades within the strategy,
 * failed deployments rolling back, locks, cancel, versions.
 */
import { AppSpec, type Deployment, type Event, HealthCheckProtocol, HealthState, taskStateCodec } from '@drover/proto';
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
  await h.tick();
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

/** An app without health checks: its tasks count as healthy once RUNNING for the min running time (5 s). */
function plain(id: string, cmd: string, instances: number | undefined, extra: Partial<AppSpec> = {}): AppSpec {
  return { ...app(id, cmd, instances ?? 1, { healthChecks: [], ...extra }), instances };
}

/** Every view of deployments clients got: the change's answer, events, and gets. */
function progressLog() {
  const seen: Array<{ id: string; state: number; target: number; newHealthy: number; newLive: number; surplus: number }> = [];
  const take = (d: Deployment | undefined) => {
    if (!d?.progress) return;
    const p = d.progress;
    seen.push({ id: d.id, state: d.state, target: p.targetInstances, newHealthy: p.newHealthy, newLive: p.newLive, surplus: p.surplusRemaining });
  };
  h.core.events.subscribe((e) => {
    if (e.payload?.$case === 'deployment') take(e.payload.value.deployment);
  });
  return { seen, take };
}

describe('scales and versions', () => {
  it('a scale is a version of its own; redeploying the file after it is a scale down whose progress never exceeds its target', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a', { resources: { cpus: 8, mem: 8192, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31099 }] } });
    const file = plain('web', 'serve', 2);
    const log = progressLog();
    const created = await h.core.apps.deploy(file);
    log.take(created.deployment);
    for (let i = 0; i < 10; i++) {
      await playAgent(agent, () => true);
      await advance(700, 50);
    }
    expect(h.core.deployments.get(created.deployment?.id ?? '').state).toBe(2); // SUCCEEDED
    const v1 = h.core.apps.get('web').version;
    const firstTasks = h.core.tasks.list({ appId: 'web' }).tasks.map((t) => t.id).sort();

    const scaled = await h.core.apps.scale('web', 3);
    log.take(scaled.deployment);
    expect(scaled.app.version > v1).toBe(true);
    expect(scaled.app).toMatchObject({ lastConfigChangeAt: v1, lastScalingAt: scaled.app.version });
    expect(scaled.deployment).toMatchObject({ kind: 3, version: scaled.app.version, fromVersion: v1 }); // SCALE
    expect(h.core.apps.versions('web').map((v) => [v.version, v.spec?.instances, v.configVersion])).toEqual([
      [scaled.app.version, 3, v1],
      [v1, 2, ''],
    ]);
    for (let i = 0; i < 10; i++) {
      await playAgent(agent, () => true);
      await advance(700, 50);
    }
    expect(h.core.deployments.get(scaled.deployment?.id ?? '')).toMatchObject({ state: 2, progress: { targetInstances: 3, newHealthy: 3 } });
    // A scale keeps the tasks it found: they run the configuration version.
    const afterScale = h.core.tasks.list({ appId: 'web' }).tasks;
    expect(afterScale.map((t) => t.id).filter((id) => firstTasks.includes(id)).sort()).toEqual(firstTasks);
    expect(afterScale.every((t) => t.appVersion === v1)).toBe(true);

    // The file says 2: deploying it again is a scale down, not "3/2 new healthy".
    const redeployed = await h.core.apps.deploy(file);
    log.take(redeployed.deployment);
    expect(redeployed.deployment).toMatchObject({ kind: 3, fromVersion: scaled.app.version, progress: { targetInstances: 2, newHealthy: 2, surplusRemaining: 1 } });
    for (let i = 0; i < 10; i++) {
      await playAgent(agent, () => true);
      log.take(h.core.deployments.get(redeployed.deployment?.id ?? ''));
      await advance(700, 50);
    }
    expect(h.core.deployments.get(redeployed.deployment?.id ?? '')).toMatchObject({ state: 2, progress: { targetInstances: 2, newHealthy: 2, surplusRemaining: 0 } });
    expect(log.seen.length).toBeGreaterThan(6);
    for (const view of log.seen) {
      expect(view.newHealthy).toBeLessThanOrEqual(view.target);
      expect(view.newLive).toBeLessThanOrEqual(view.target);
    }
    // The ended scale to 3 still says how it ended, not what the app looks like now.
    expect(h.core.deployments.get(scaled.deployment?.id ?? '').progress).toMatchObject({ targetInstances: 3, newHealthy: 3 });
    const versions = h.core.apps.versions('web');
    expect(versions.map((v) => v.spec?.instances)).toEqual([2, 3, 2]);
    expect(versions[0]?.version).toBe(h.core.apps.get('web').version);
    expect(h.core.tasks.list({ appId: 'web' }).tasks).toHaveLength(2);
  });

  it('a file without instances keeps the count a scale set; a new configuration without instances keeps it too', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a');
    await h.core.apps.deploy(plain('api', 'serve', 2));
    await h.core.apps.scale('api', 3, true);
    const unchanged = await h.core.apps.deploy(plain('api', 'serve', undefined));
    expect(unchanged.deployment).toBeUndefined();
    expect(unchanged.app.spec?.instances).toBe(3);
    const updated = await h.core.apps.deploy(plain('api', 'serve --v2', undefined), true);
    expect(updated.deployment).toMatchObject({ kind: 2, progress: { targetInstances: 3 } }); // UPDATE
    expect(updated.app).toMatchObject({ spec: { instances: 3 }, lastScalingAt: '' });
    expect(updated.app.lastConfigChangeAt).toBe(updated.app.version);
    const fresh = await h.core.apps.deploy(plain('new', 'serve', undefined));
    expect(fresh.app.spec?.instances).toBe(1);
    agent.launched();
  });

  it('a failed update after a scale rolls back to the scaled count, and the old tasks stay', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a', { resources: { cpus: 8, mem: 8192, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31099 }] } });
    const strategy = { upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1, progressDeadlineSeconds: 10 } };
    await h.core.apps.deploy(plain('svc', 'good', 2, strategy));
    await h.core.apps.scale('svc', 3, true);
    for (let i = 0; i < 12; i++) {
      await playAgent(agent, () => true);
      await advance(700, 50);
    }
    const good = h.core.apps.get('svc');
    expect(good.status).toMatchObject({ tasksHealthy: 3, deployments: [] });
    const oldTasks = h.core.tasks.list({ appId: 'svc' }).tasks.map((t) => t.id).sort();

    const broken = await h.core.apps.deploy(plain('svc', 'broken', undefined, strategy));
    expect(broken.deployment).toMatchObject({ fromVersion: good.version, progress: { targetInstances: 3 } });
    // The new version's tasks never start running.
    for (let i = 0; i < 40; i++) {
      agent.launched();
      await agent.finishKills();
      await advance(500, 50);
    }
    const failed = h.core.deployments.get(broken.deployment?.id ?? '');
    expect(failed).toMatchObject({ state: 3, message: expect.stringMatching(new RegExp(`rolling back to ${good.version}$`)) });
    expect(h.core.apps.get('svc')).toMatchObject({ version: good.version, lastConfigChangeAt: good.lastConfigChangeAt, lastScalingAt: good.version, spec: { cmd: 'good', instances: 3 } });
    expect(h.core.deployments.get(failed.rollbackId)).toMatchObject({ state: 2, version: good.version, progress: { targetInstances: 3, newHealthy: 3 } });
    expect(h.core.tasks.list({ appId: 'svc' }).tasks.map((t) => t.id).sort()).toEqual(oldTasks);
  });
});

describe('tasks that die at start', () => {
  it('never count as new healthy: the deployment waits for a replacement that stays up', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a');
    const log = progressLog();
    const { deployment } = await h.core.apps.deploy(plain('web', 'serve', 2));
    const id = deployment?.id ?? '';
    const [doomed, survivor] = (await (async () => {
      for (;;) {
        const ids = agent.launched();
        if (ids.length > 0) return ids;
        await advance(10);
      }
    })()) as [string, string];
    await agent.report(doomed, 'RUNNING');
    await agent.report(survivor, 'RUNNING');
    // Reconcile passes run here, with both tasks RUNNING: neither has proven anything yet.
    await tick();
    log.take(h.core.deployments.get(id));
    await agent.report(doomed, 'FAILED', { exitCode: 1, message: 'exited with code 1', stderrTail: Buffer.from('Error: listen EADDRINUSE: address already in use :::31002\n') });
    expect(h.core.deployments.get(id)).toMatchObject({ state: 1, progress: { newHealthy: 0, newLive: 1 } }); // RUNNING

    // The survivor counts once it has run for 5 s; the replacement comes after the launch backoff (1 s).
    let replacement: string | undefined;
    for (let t = 0; t < 12_000; t += 100) {
      const launched = agent.launched();
      for (const r of launched) await agent.report(r, 'RUNNING');
      replacement ??= launched[0];
      log.take(h.core.deployments.get(id));
      await advance(100, 50);
    }
    expect(replacement).toBeDefined();
    expect(h.core.deployments.get(id)).toMatchObject({ state: 2, progress: { targetInstances: 2, newHealthy: 2 } });
    const views = log.seen.filter((v) => v.id === id);
    // Until the survivor had run 5 s nothing counted; never more than the tasks alive.
    expect(views.slice(0, 3).every((v) => v.newHealthy === 0)).toBe(true);
    expect(Math.max(...views.filter((v) => v.state === 1).map((v) => v.newHealthy))).toBeLessThanOrEqual(1);
    expect(h.core.apps.get('web').status?.lastTaskFailure?.stderrTail).toContain('EADDRINUSE');
  });

  it('a deadline shorter than the min running time does not fail tasks that keep running', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a');
    const { deployment } = await h.core.apps.deploy(plain('quick', 'serve', 2, { upgradeStrategy: { progressDeadlineSeconds: 2 } }));
    await advance(50);
    for (const id of agent.launched()) await agent.report(id, 'RUNNING');
    await advance(4500, 50);
    expect(h.core.deployments.get(deployment?.id ?? '')).toMatchObject({ state: 1, progress: { newHealthy: 0, newLive: 2 } });
    await advance(2000, 50);
    expect(h.core.deployments.get(deployment?.id ?? '')).toMatchObject({ state: 2, progress: { newHealthy: 2 } });
  });
});
