/**
 * Orchestration over time, with vitest's fake timers driving the master's
 * clock and timers: restart backoff, drains, one-off tasks, constraints and
 * the explanations operators see.
 */
import { Code, normalizeRanges } from '@drover/common';
import { Agent, AppSpec, ConstraintOperator } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CoreHarness, startCore } from '../testing/core-harness.js';

let h: CoreHarness;

beforeEach(() => {
  // setImmediate stays real: the store's group commit and the orchestrator's
  // coalesced passes run on it, and each test step lets them finish (tick()).
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});

/** Lets pending writes and reconcile passes (on real setImmediate) complete. */
async function tick(): Promise<void> {
  await h.tick();
}

/** Advances fake time by `ms` in small steps, letting real work run in between. */
async function advance(ms: number, stepMs = 5): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await vi.advanceTimersByTimeAsync(Math.min(stepMs, ms - t));
    await tick();
  }
}

afterEach(async () => {
  await h?.close();
  vi.useRealTimers();
});

/** Advances fake time in small steps until `probe` returns something. */
async function advanceUntil<T>(probe: () => T | undefined, maxMs = 60_000, stepMs = 5): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return { value, elapsedMs: Date.now() - start };
    if (Date.now() - start > maxMs) throw new Error(`nothing after ${maxMs} ms of fake time`);
    await vi.advanceTimersByTimeAsync(stepMs);
    await tick();
  }
}

const deploy = (app: Partial<AppSpec>, force = false) => h.core.apps.deploy(AppSpec.fromPartial(app), force);

describe('restart backoff', () => {
  it('delays relaunches 1, 1.15, 1.32 ... s after consecutive failures, capped at maxLaunchDelaySeconds', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a');
    await deploy({ id: 'crash', cmd: 'exit 1', cpus: 0.1, mem: 16, instances: 1, backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 2 });
    const delays: number[] = [];
    let { value: [taskId] } = await advanceUntil(() => {
      const ids = agent.launched();
      return ids.length > 0 ? ids : undefined;
    });
    for (let i = 0; i < 7; i++) {
      await agent.report(taskId as string, 'RUNNING');
      await agent.report(taskId as string, 'FAILED', { exitCode: 1, message: 'exited with code 1', stderrTail: Buffer.from(`failure ${i}\n`) });
      const next = await advanceUntil(() => {
        const ids = agent.launched();
        return ids.length > 0 ? ids : undefined;
      });
      delays.push(next.elapsedMs);
      [taskId] = next.value;
    }
    const expected = [1000, 1150, 1322.5, 1520.9, 1749, 2000, 2000];
    delays.forEach((d, i) => expect(Math.abs(d - (expected[i] as number))).toBeLessThanOrEqual(10));

    const app = h.core.apps.get('crash');
    expect(app.status?.consecutiveFailures).toBe(7);
    expect(app.status?.launchDelaySeconds).toBeCloseTo(2);
    expect(app.status?.lastTaskFailure).toMatchObject({ state: 'FAILED', exitCode: 1, message: 'exited with code 1', stderrTail: 'failure 6\n', host: 'agent-a.test' });
  });

  it('shows the delay as the reason instances wait, and resets once a new task runs long enough', async () => {
    h = await startCore({ backoffResetMs: 5000 });
    const agent = await h.agent('agent-a');
    await deploy({ id: 'flaky', cmd: 'x', cpus: 0.1, mem: 16, backoffSeconds: 10 });
    const [first] = (await advanceUntil(() => (agent.commands.length > 0 ? agent.launched() : undefined))).value;
    await agent.report(first as string, 'RUNNING');
    await agent.report(first as string, 'FAILED', { exitCode: 2 });
    await advance(100);
    const waiting = h.core.tasks.list({ appId: 'flaky' }).waiting;
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.explanation?.summary).toMatch(/^launch delayed (9\.\d|10\.0) s of 10\.00 s after repeated failures: last task failed/);

    const [second] = (await advanceUntil(() => (agent.commands.length > 0 ? agent.launched() : undefined))).value;
    await agent.report(second as string, 'RUNNING');
    expect(h.core.apps.get('flaky').status?.consecutiveFailures).toBe(1);
    await advance(6000);
    expect(h.core.apps.get('flaky').status?.consecutiveFailures).toBe(0);
    // A task that ends after the reset starts over at backoffSeconds.
    await agent.report(second as string, 'FAILED', { exitCode: 2 });
    expect(h.core.apps.get('flaky').status?.launchDelaySeconds).toBe(10);
  });

  it('a new version starts without delay', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a');
    await deploy({ id: 'v', cmd: 'x', cpus: 0.1, mem: 16, backoffSeconds: 60 });
    const [first] = (await advanceUntil(() => (agent.commands.length > 0 ? agent.launched() : undefined))).value;
    await agent.report(first as string, 'FAILED', { exitCode: 1 });
    await advance(50);
    expect(agent.launched()).toEqual([]);
    // The first version never got healthy, so its deployment still holds the lock.
    await expect(deploy({ id: 'v', cmd: 'y', cpus: 0.1, mem: 16, backoffSeconds: 60 })).rejects.toMatchObject({ name: 'AppLockedError' });
    await deploy({ id: 'v', cmd: 'y', cpus: 0.1, mem: 16, backoffSeconds: 60 }, true);
    const relaunched = await advanceUntil(() => (agent.commands.length > 0 ? agent.launched() : undefined), 1000);
    expect(relaunched.elapsedMs).toBeLessThan(100);
  });
});

describe('drain', () => {
  it('moves app tasks off a draining agent (new instance healthy, i.e. RUNNING for the min running time, before the old one is killed), then kills the rest at the deadline', async () => {
    h = await startCore();
    const a = await h.agent('agent-a');
    await deploy({ id: 'web', cmd: 'x', cpus: 0.5, mem: 64, instances: 2 });
    const onA = (await advanceUntil(() => (a.commands.length >= 2 ? a.launched() : undefined))).value;
    for (const id of onA) await a.report(id, 'RUNNING');
    const b = await h.agent('agent-b');

    await h.core.agents.drain('agent-a', 30);
    expect(h.core.agents.get('agent-a')).toMatchObject({ draining: true });
    const oneOff = await h.core.tasks.run({ args: ['sleep', '60'], cmd: '', env: {}, constraints: [], portDefinitions: [], wait: false, name: 'job' } as never);
    expect(oneOff.id).toMatch(/^job\./);
    const onB = (await advanceUntil(() => (b.commands.length >= 3 ? b.launched().filter((id) => id !== oneOff.id) : undefined))).value;
    expect(onB).toHaveLength(2);
    // The one-off task went to b: nothing new lands on a draining agent.
    expect(h.stateOf(oneOff.id)).toBe('STAGING');
    expect(h.core.state.task(oneOff.id)?.agentId).toBe('agent-b');
    await advance(50);
    expect(a.take('kill')).toEqual([]);

    await b.report(onB[0] as string, 'RUNNING');
    // RUNNING is not enough for an app without health checks: it must have run for the min running time (5 s).
    await advance(4900, 50);
    expect(a.take('kill')).toEqual([]);
    await advance(1200, 50);
    const firstKill = a.take('kill');
    expect(firstKill).toHaveLength(1);
    expect(firstKill[0]?.message).toBe('moved off a draining agent');
    await b.report(onB[1] as string, 'RUNNING');
    await advance(6200, 50);
    expect(a.take('kill')).toHaveLength(1);
    expect(h.core.apps.get('web').status?.tasksRunning).toBe(2);
  });

  it('kills what cannot move (a one-off task) once the deadline passes, and undrain ends it', async () => {
    h = await startCore();
    const a = await h.agent('agent-a');
    const job = await h.core.tasks.run({ args: ['sleep', '60'], cmd: '', env: {}, constraints: [], portDefinitions: [], wait: false, name: '' } as never);
    const [launched] = (await advanceUntil(() => (a.commands.length > 0 ? a.launched() : undefined))).value;
    expect(launched).toBe(job.id);
    await a.report(job.id, 'RUNNING');
    await h.core.agents.drain('agent-a', 10);
    await advance(9000);
    expect(a.take('kill')).toEqual([]);
    const kill = (await advanceUntil(() => (a.commands.length > 0 ? a.take('kill') : undefined), 2000)).value;
    expect(kill[0]).toMatchObject({ taskId: job.id, message: 'agent agent-a.test drained (deadline passed)' });
    await h.core.agents.undrain('agent-a');
    expect(h.core.agents.get('agent-a').draining).toBe(false);
  });
  it.each([-1, Number.NaN, 604_801, 1e300])('refuses a drain deadline of %s s, and agents keep listing', async (deadline) => {
    h = await startCore();
    await h.agent('agent-a');
    await expect(h.core.agents.drain('agent-a', deadline)).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(h.core.agents.list().map((a) => a.draining)).toEqual([false]);
    expect(() => Agent.encode(h.core.agents.get('agent-a'))).not.toThrow();
  });
});

describe('one-off tasks', () => {
  it('wait PENDING with a reason, are placed when capacity appears, and are never restarted', async () => {
    h = await startCore();
    const small = await h.agent('agent-small', { resources: { cpus: 1, mem: 64, disk: 0, gpus: 0, ports: [] } });
    const job = await h.core.tasks.run({ args: ['make', 'report'], cpus: 0.5, mem: 512, cmd: '', env: {}, constraints: [], portDefinitions: [], wait: false, name: 'report' } as never);
    expect(job.appId).toBe('');
    await advance(50);
    const pending = h.core.tasks.get(job.id);
    expect(pending.waiting?.summary).toBe('1 agent: insufficient mem (need 512 MiB, most free 64 MiB)');
    expect(small.launched()).toEqual([]);

    const big = await h.agent('agent-big');
    const [launched] = (await advanceUntil(() => (big.commands.length > 0 ? big.launched() : undefined))).value;
    expect(launched).toBe(job.id);
    await big.report(job.id, 'RUNNING');
    await big.report(job.id, 'FINISHED', { exitCode: 0 });
    await advance(3000);
    expect(big.launched()).toEqual([]);
    expect(h.stateOf(job.id)).toBe('FINISHED');
  });

  it('a PENDING task can be cancelled, and watchers see every change until the end', async () => {
    h = await startCore();
    const job = await h.core.tasks.run({ args: ['true'], cmd: '', env: {}, constraints: [], portDefinitions: [], wait: true, name: '' } as never);
    const seen: string[] = [];
    h.core.tasks.watch(job.id, (t, ended) => seen.push(`${t.state}${ended ? '!' : ''}`));
    await h.core.tasks.kill(job.id);
    await advance(10);
    expect(h.stateOf(job.id)).toBe('KILLED');
    expect(seen).toEqual(['7!']);
  });

  it('rejects an invalid one-off task with field paths, storing nothing', async () => {
    h = await startCore();
    await expect(
      h.core.tasks.run({ args: [], cmd: '', cpus: -1, env: {}, constraints: [{ field: 'rack', operator: ConstraintOperator.CONSTRAINT_OPERATOR_MAX_PER, value: 'x' }], portDefinitions: [], wait: false, name: 'Bad Name' } as never),
    ).rejects.toMatchObject({
      violations: [
        { path: 'cmd', message: 'one of cmd or args is required' },
        { path: 'constraints[0][2]', message: 'MAX_PER needs a positive integer, got "x"' },
        { path: 'cpus', message: 'must be at least 0.001' },
        { path: 'name', message: expect.stringContaining('segment "Bad Name"') },
      ],
    });
    expect(h.core.state.allTasks()).toEqual([]);
  });
});

describe('constraints and explanations', () => {
  it('UNIQUE hostname places one per agent and explains the rest', async () => {
    h = await startCore();
    const a = await h.agent('agent-a');
    const b = await h.agent('agent-b');
    await deploy({ id: 'uniq', cmd: 'x', cpus: 0.1, mem: 16, instances: 3, constraints: [{ field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_UNIQUE, value: '' }] });
    await advance(50);
    expect(a.launched()).toHaveLength(1);
    expect(b.launched()).toHaveLength(1);
    const { waiting } = h.core.tasks.list({ appId: 'uniq' });
    expect(waiting).toEqual([
      expect.objectContaining({ appId: '/uniq', instances: 1, explanation: expect.objectContaining({ summary: '2 agents: constraint hostname UNIQUE' }) }),
    ]);
    expect(h.core.apps.get('uniq').status?.waiting?.summary).toBe('2 agents: constraint hostname UNIQUE');
    // A third agent is capacity for the waiting instance: no user action needed.
    const c = await h.agent('agent-c');
    await advance(50);
    expect(c.launched()).toHaveLength(1);
    expect(h.core.tasks.list({ appId: 'uniq' }).waiting).toEqual([]);
  });
});

describe('a launch delay past what a timer holds', () => {
  // Real timers: Node's own clamping (2^31-1 ms and up become 1 ms) is what is tested.
  beforeEach(() => {
    vi.useRealTimers();
  });

  it('a spec from before the schema bounds (backoff 3,000,000 s) neither spins the orchestrator nor warns', async () => {
    // No minimum running time: the deployment ends as soon as the task runs.
    h = await startCore({ minRunningMs: 0 });
    const agent = await h.agent('agent-a');
    await deploy({ id: 'huge', cmd: 'x', cpus: 0.1, mem: 16 });
    // As stored before durations were bounded: the schema would refuse these today.
    const app = h.core.state.app('/huge');
    if (!app) throw new Error('no app');
    await h.core.state.putApp({ ...app, spec: { ...app.spec, backoffSeconds: 3_000_000, maxLaunchDelaySeconds: 3_000_000 } });
    const deadline = Date.now() + 5000;
    let launched: string[] = [];
    while (launched.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      launched = agent.launched();
    }
    const [taskId] = launched;
    if (taskId === undefined) throw new Error('nothing launched');
    // Let the deployment finish, so the launch delay is the only thing left to wake up for.
    await agent.report(taskId, 'RUNNING');
    while (h.core.state.runningDeployment('/huge') !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(h.core.state.runningDeployment('/huge')).toBeUndefined();

    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    let passes = 0;
    const orchestrator = h.core.orchestrator;
    const reconcile = orchestrator.reconcile.bind(orchestrator);
    orchestrator.reconcile = () => {
      passes++;
      return reconcile();
    };
    try {
      await agent.report(taskId, 'FAILED', { exitCode: 1 });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
    // A few passes for the failure itself; a 1 ms wake-up loop would make hundreds.
    expect(passes).toBeLessThan(20);
    expect(agent.launched()).toEqual([]);
    expect(h.core.apps.get('huge').status?.launchDelaySeconds).toBe(3_000_000);
  });
});

describe('host ports in use on the agent', () => {
  /** Host ports of the app's live tasks. */
  const portsOf = (appId: string) => h.core.state.liveTasksOfApp(appId).flatMap((t) => t.ports.map((p) => p.number));

  it('never assigns a port the machine reports in use, at registration or later, and places on it once it is released', async () => {
    h = await startCore();
    const agent = await h.agent('agent-a', {
      resources: { cpus: 4, mem: 4096, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31005 }] },
      portsInUse: [{ begin: 31001, end: 31001 }],
    });
    await deploy({ id: 'web', cmd: 'x', cpus: 0.1, mem: 16, instances: 4, portDefinitions: [{ port: 0, protocol: 'tcp', name: '', labels: {} }] });
    await advance(50);
    for (const id of agent.launched()) await agent.report(id, 'RUNNING');
    const placed = portsOf('/web');
    expect(placed).toHaveLength(4);
    expect(placed).not.toContain(31001);
    const [left] = [31000, 31002, 31003, 31004, 31005].filter((p) => !placed.includes(p));
    expect(h.core.agents.get('agent-a').foreignPorts).toEqual([{ begin: 31001, end: 31001 }]);

    // Another process takes the last free port (the agent's next usage sample says so); the tasks' own ports are listed too.
    const inUse = [31001, left as number, ...placed].sort((x, y) => x - y).map((p) => ({ begin: p, end: p }));
    h.core.sessions.recordUsage('agent-a', { cpusUsed: 0, memUsed: 0, memTotal: 4096, tasksRunning: 4, portsInUse: inUse });
    expect(h.core.agents.get('agent-a').foreignPorts).toEqual(normalizeRanges([31001, left as number].map((p) => ({ begin: p, end: p }))));
    await h.core.apps.scale('web', 5, true);
    await advance(50);
    expect(agent.launched()).toEqual([]);
    expect(h.core.apps.get('web').status?.waiting?.summary).toBe('1 agent: insufficient ports (need 1 ports, most free 0 ports)');

    h.core.sessions.recordUsage('agent-a', { cpusUsed: 0, memUsed: 0, memTotal: 4096, tasksRunning: 4, portsInUse: [{ begin: 31001, end: 31001 }] });
    await advance(1100);
    expect(agent.launched()).toHaveLength(1);
    expect(portsOf('/web').sort()).toEqual([...placed, left].sort());
  });
});
