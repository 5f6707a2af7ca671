import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, fromGrpcError, silentLogger, ValidationError } from '@drover/common';
import { type Agent, agentStateCodec, type AppSpec, KillSelection, type Task, taskReasonCodec, TaskState, taskStateCodec, TaskStatus } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningMaster } from './master-options.js';
import { startMaster } from './master.js';
import { FakeAgent, run } from './testing/fake-agent.js';
import { masterClients as clients, until } from './testing/master-clients.js';

let dataDir: string;
let master: RunningMaster | undefined;
const agents: FakeAgent[] = [];

async function start(lostTimeoutMs = 10_000): Promise<RunningMaster> {
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, agentLostTimeoutMs: lostTimeoutMs, logger: silentLogger() });
  return master;
}

async function agent(m: RunningMaster, overrides = {}): Promise<FakeAgent> {
  const a = new FakeAgent(`127.0.0.1:${m.grpcPort}`, FakeAgent.registration(overrides));
  agents.push(a);
  await a.connect();
  return a;
}

const state = (t: Task) => taskStateCodec.name(t.state);

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-master-'));
});

afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await master?.stop();
  master = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('master', () => {
  it('rejects an invalid spec with every problem and stores nothing', async () => {
    const m = await start();
    const c = clients(m);
    const err: unknown = await c.deploy({ id: 'Bad_Id', cpus: -1, portDefinitions: [{ port: 99999, protocol: 'tcp', name: '', labels: {} }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe(Code.InvalidArgument);
    expect((err as ValidationError).violations.map((v) => v.path)).toEqual(['cmd', 'cpus', 'id', 'portDefinitions[0].port']);
    expect(await c.listApps()).toEqual([]);
    c.close();
  });

  it('places an app on a registered agent, launches it with ports, and counts it running', async () => {
    const m = await start();
    const c = clients(m);
    const a = await agent(m);
    const { app, created } = await c.deploy({ id: 'web', cmd: 'sleep 60', cpus: 0.5, mem: 64, instances: 2, portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }] });
    expect(created).toBe(true);
    expect(app?.spec?.id).toBe('/web');
    const l1 = await a.next('launch');
    const l2 = await a.next('launch');
    for (const l of [l1, l2]) {
      expect(l.epoch).toBe(m.epoch);
      expect(l.task?.cmd).toBe('sleep 60');
      expect(l.task?.ports[0]?.name).toBe('http');
      expect(l.task?.ports[0]?.number).toBeGreaterThanOrEqual(31000);
    }
    expect(l1.task?.ports[0]?.number).not.toBe(l2.task?.ports[0]?.number);
    await run(a, l1.task?.taskId ?? '');
    await run(a, l2.task?.taskId ?? '');
    const got = await c.getApp('web');
    expect(got.status).toMatchObject({ tasksRunning: 2, tasksStaged: 0 });
    const listed = await c.agents();
    expect(listed[0]?.used?.cpus).toBe(1);
    expect(agentStateCodec.name(listed[0]?.state ?? 0)).toBe('ACTIVE');
    c.close();
  });

  it('replaces a task that exits, scales down youngest first, and kills everything on delete', async () => {
    const m = await start();
    const c = clients(m);
    const a = await agent(m);
    await c.deploy({ id: 'svc', cmd: 'sleep 60', cpus: 0.1, mem: 16, instances: 3 });
    const launched = [await a.next('launch'), await a.next('launch'), await a.next('launch')].map((l) => l.task?.taskId ?? '');
    for (const id of launched) await run(a, id);
    a.status(launched[0] ?? '', TaskState.TASK_STATE_FAILED, { exitCode: 137, signal: 'SIGKILL' });
    const replacement = await a.next('launch', 5000);
    expect(launched).not.toContain(replacement.task?.taskId);
    await run(a, replacement.task?.taskId ?? '');
    const failed = (await c.tasks('svc', true)).find((t) => t.id === launched[0]);
    expect(failed).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });

    await c.scale('svc', 1);
    const k1 = await a.next('kill');
    const k2 = await a.next('kill');
    // The replacement is the youngest, so it goes first.
    expect([k1.taskId, k2.taskId]).toContain(replacement.task?.taskId);
    for (const k of [k1, k2]) a.status(k.taskId, TaskState.TASK_STATE_KILLED);
    const [survivor] = await until(() => c.tasks('svc'), (ts) => ts.length === 1);
    expect(launched.slice(1)).toContain(survivor?.id);

    const { tasksKilled } = await c.deleteApp('svc');
    expect(tasksKilled).toBe(1);
    const last = await a.next('kill');
    expect(last.taskId).toBe(survivor?.id);
    a.status(last.taskId, TaskState.TASK_STATE_KILLED);
    await until(() => c.tasks(), (ts) => ts.length === 0);
    await expect(c.getApp('svc')).rejects.toMatchObject({ code: Code.NotFound });
    c.close();
  });

  it('explains why instances wait, and places them when capacity appears', async () => {
    const m = await start();
    const c = clients(m);
    await c.deploy({ id: 'big', cmd: 'sleep 60', cpus: 2, mem: 2048, instances: 1 });
    const none = await until(() => c.getApp('big'), (app) => app.status?.waiting !== undefined);
    expect(none.status?.waiting?.summary).toBe('no agents are available');
    const small = await agent(m, { resources: { cpus: 1, mem: 1024, disk: 0, gpus: 0, ports: [] } });
    const why = await until(() => c.getApp('big'), (app) => app.status?.waiting?.agentsConsidered === 1);
    expect(why.status?.waiting?.summary).toBe('1 agent: insufficient cpus (need 2 cpus, most free 1 cpus)');
    expect(small.drain('launch')).toEqual([]);
    const large = await agent(m);
    const launch = await large.next('launch');
    expect(launch.task?.appId).toBe('/big');
    c.close();
  });

  /**
   * Agent a runs the app's one task and goes silent; b takes the
   * replacement. Returns the ids, with a disconnected and b connected.
   */
  async function partitioned(m: RunningMaster, app: Partial<AppSpec>): Promise<{ a: FakeAgent; b: FakeAgent; first: string; replacement: string }> {
    const c = clients(m);
    const a = await agent(m, { hostname: 'a', bootId: 'boot-a' });
    await c.deploy({ id: 'w', cmd: 'sleep 60', cpus: 0.1, mem: 16, instances: 1, ...app });
    const first = (await a.next('launch')).task?.taskId ?? '';
    await run(a, first);
    const b = await agent(m, { hostname: 'b', bootId: 'boot-b' });
    a.disconnect();
    const replacement = (await b.next('launch', 5000)).task?.taskId ?? '';
    await run(b, replacement);
    c.close();
    return { a, b, first, replacement };
  }

  const reasonOf = (t: Task | undefined) => (t ? taskReasonCodec.name(t.reason) : undefined);

  it('marks a silent agent lost: its task is UNREACHABLE with a reason, and replaced elsewhere under a new id', async () => {
    const m = await start(600);
    const c = clients(m);
    const { first, replacement } = await partitioned(m, {});
    expect(replacement).not.toBe(first);
    const tasks = await c.tasks('w');
    const old = tasks.find((t) => t.id === first);
    expect(old && state(old)).toBe('UNREACHABLE');
    expect(reasonOf(old)).toBe('AGENT_UNREACHABLE');
    expect(old?.message).toMatch(/agent a .* silent for/);
    expect(tasks.find((t) => t.id === replacement)?.host).toBe('b');
    expect(agentStateCodec.name((await c.agents()).find((x) => x.hostname === 'a')?.state ?? 0)).toBe('LOST');
    c.close();
  });

  it.each([
    { selection: 'YOUNGEST_FIRST (the default)', spec: {}, killed: 'replacement' as const },
    { selection: 'OLDEST_FIRST', spec: { killSelection: KillSelection.KILL_SELECTION_OLDEST_FIRST }, killed: 'first' as const },
  ])('a partition heals (same boot id): the task is RUNNING again with its id, and one copy goes by $selection', async ({ spec, killed }) => {
    const m = await start(600);
    const c = clients(m);
    const ids = await partitioned(m, spec);
    const { a, b, first } = ids;
    a.register.tasks = [TaskStatus.fromPartial({ uuid: 'u1', taskId: first, state: TaskState.TASK_STATE_RUNNING, pid: 1 })];
    await a.connect();
    const [victim, keeper] = killed === 'first' ? [a, b] : [b, a];
    const kill = await victim.next('kill');
    expect(kill.taskId).toBe(ids[killed]);
    expect(keeper.drain('kill')).toEqual([]);
    const back = (await c.tasks('w')).find((t) => t.id === first);
    expect(back && state(back)).toBe('RUNNING');
    expect(reasonOf(back)).toBeUndefined();
    // Exactly one copy counts: the other is being killed.
    expect((await c.tasks('w')).filter((t) => !t.killRequested).map((t) => t.id)).toHaveLength(1);
    c.close();
  });

  it('an agent back with another boot id: its machine restarted, the task it had is LOST and killed if reported', async () => {
    const m = await start(600);
    const c = clients(m);
    const { a, b, first } = await partitioned(m, {});
    a.register.bootId = 'boot-a-after-reboot';
    a.register.tasks = [TaskStatus.fromPartial({ uuid: 'u1', taskId: first, state: TaskState.TASK_STATE_RUNNING, pid: 1 })];
    await a.connect();
    expect((await a.next('kill')).taskId).toBe(first);
    const old = (await c.tasks('w', true)).find((t) => t.id === first);
    expect(old && state(old)).toBe('LOST');
    expect(reasonOf(old)).toBe('AGENT_REBOOTED');
    expect(b.drain('kill')).toEqual([]);
    c.close();
  });

  it('unreachableStrategy "disabled": the task is LOST at once, and killed if its agent comes back', async () => {
    const m = await start(600);
    const c = clients(m);
    const { a, b, first } = await partitioned(m, { unreachableStrategy: { disabled: true } });
    const lost = (await c.tasks('w', true)).find((t) => t.id === first);
    expect(lost && state(lost)).toBe('LOST');
    expect(reasonOf(lost)).toBe('AGENT_LOST');
    a.register.tasks = [TaskStatus.fromPartial({ uuid: 'u1', taskId: first, state: TaskState.TASK_STATE_RUNNING, pid: 1 })];
    await a.connect();
    expect((await a.next('kill')).taskId).toBe(first);
    expect(b.drain('kill')).toEqual([]);
    c.close();
  });

  it('an UNREACHABLE task is given up (LOST) after expungeAfterSeconds', async () => {
    const m = await start(600);
    const c = clients(m);
    const { first } = await partitioned(m, { unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 1, disabled: false } });
    const lost = await until(
      async () => (await c.tasks('w', true)).find((t) => t.id === first),
      (t) => t !== undefined && state(t) === 'LOST',
      5000,
    );
    expect(reasonOf(lost)).toBe('UNREACHABLE_EXPUNGED');
    c.close();
  });

  it('survives a restart: state reloads, the epoch grows, re-registration adopts tasks without relaunching', async () => {
    let m = await start();
    let c = clients(m);
    const a = await agent(m);
    await c.deploy({ id: 'keep', cmd: 'sleep 60', cpus: 0.1, mem: 16, instances: 2 });
    const ids = [(await a.next('launch')).task?.taskId ?? '', (await a.next('launch')).task?.taskId ?? ''];
    for (const id of ids) await run(a, id);
    const epoch1 = m.epoch;
    c.close();
    a.close();
    agents.length = 0;
    await m.stop();

    m = await start();
    c = clients(m);
    expect(m.epoch).toBeGreaterThan(epoch1);
    expect((await c.tasks('keep')).map((t) => t.id).sort()).toEqual([...ids].sort());
    const again = new FakeAgent(`127.0.0.1:${m.grpcPort}`, {
      ...a.register,
      tasks: ids.map((taskId) => TaskStatus.fromPartial({ uuid: `r-${taskId}`, taskId, state: TaskState.TASK_STATE_RUNNING, pid: 7 })),
    });
    agents.push(again);
    const registered = await again.connect();
    expect(registered.agentId).toBe(a.register.agentId);
    expect(registered.epoch).toBe(m.epoch);
    await new Promise((r) => setTimeout(r, 300));
    expect(again.drain('launch')).toEqual([]);
    expect(again.drain('kill')).toEqual([]);
    const info = await c.info();
    expect(info).toMatchObject({ tasksLive: 2, apps: 1, agentsActive: 1, store: 'sqlite', epoch: m.epoch });
    c.close();
  });

  it('refuses a hostile Register with INVALID_ARGUMENT naming every field, and lists nothing', async () => {
    const m = await start();
    const c = clients(m);
    const hostile = new FakeAgent(
      `127.0.0.1:${m.grpcPort}`,
      FakeAgent.registration({
        hostname: 'h'.repeat(100_000),
        resources: { cpus: Number.POSITIVE_INFINITY, mem: -1, disk: Number.NaN, gpus: 0, ports: [{ begin: 32000, end: 31000 }] },
      }),
    );
    agents.push(hostile);
    await expect(hostile.connect()).rejects.toThrow(/INVALID_ARGUMENT: invalid registration/);
    const refusal = fromGrpcError(hostile.failure);
    expect(refusal).toBeInstanceOf(ValidationError);
    expect(refusal.code).toBe(Code.InvalidArgument);
    expect((refusal as ValidationError).violations.map((v) => v.path)).toEqual(['hostname', 'resources.cpus', 'resources.mem', 'resources.disk', 'resources.ports[0]']);
    expect(await c.agents()).toEqual([]);
    // A well-behaved agent still registers and is listed.
    await agent(m, { hostname: 'node-1.test' });
    expect((await c.agents()).map((a) => a.hostname)).toEqual(['node-1.test']);
    c.close();
  });

  it('a task the agent no longer knows is LOST and replaced after re-registration', async () => {
    const m = await start();
    const c = clients(m);
    const a = await agent(m);
    await c.deploy({ id: 'gone', cmd: 'sleep 60', cpus: 0.1, mem: 16, instances: 1 });
    const first = (await a.next('launch')).task?.taskId ?? '';
    a.disconnect();
    a.register.tasks = [];
    await a.connect();
    const replacement = await a.next('launch');
    expect(replacement.task?.taskId).not.toBe(first);
    const old = (await c.tasks('gone', true)).find((t) => t.id === first);
    expect(old && state(old)).toBe('LOST');
    c.close();
  });
});
