/**
 * A master whose state is lost never takes it for a new cluster: it refuses
 * a store file without state, starts afresh only when forced, grows its
 * epoch past what agents saw, and adopts the tasks it finds instead of
 * killing them. A consistent master still kills tasks it gave up on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, DroverError, silentLogger } from '@drover/common';
import { taskStateCodec, TaskSpec, TaskState, TaskStatus } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningMaster } from './master-options.js';
import { startMaster } from './master.js';
import { StoreStateMissingError, SQLITE_FILE } from './store/sqlite-store.js';
import { FakeAgent, run } from './testing/fake-agent.js';
import { masterClients, until } from './testing/master-clients.js';

let dataDir: string;
let master: RunningMaster | undefined;
const agents: FakeAgent[] = [];

async function start(forceNewCluster = false): Promise<RunningMaster> {
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, logger: silentLogger(), forceNewCluster });
  return master;
}

async function stop(): Promise<void> {
  for (const a of agents.splice(0)) a.close();
  await master?.stop();
  master = undefined;
}

/** An agent registering with `register`; its Registered answer. */
async function connect(m: RunningMaster, register: FakeAgent['register']) {
  const a = new FakeAgent(`127.0.0.1:${m.grpcPort}`, register);
  agents.push(a);
  return { agent: a, registered: await a.connect() };
}

/** A cluster of one agent running one instance of /keep: the agent's Register as it would reconnect, and the epoch it saw. */
async function runningCluster() {
  const m = await start();
  const c = masterClients(m);
  const { agent } = await connect(m, FakeAgent.registration({ hostname: 'node-1' }));
  await c.deploy({ id: 'keep', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 1 });
  const spec = (await agent.next('launch')).task as TaskSpec;
  await run(agent, spec.taskId, 4242);
  c.close();
  const register = {
    ...agent.register,
    epoch: m.epoch,
    tasks: [TaskStatus.fromPartial({ uuid: 'r1', taskId: spec.taskId, state: TaskState.TASK_STATE_RUNNING, pid: 4242 })],
    taskSpecs: [spec],
  };
  await stop();
  return { spec, register };
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-lost-state-'));
});

afterEach(async () => {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('a master whose state is lost', () => {
  it.each([
    { name: 'truncated to 0 bytes', damage: (f: string) => fs.truncateSync(f, 0), problem: /exists but is empty \(0 bytes\)/ },
    { name: 'overwritten with garbage', damage: (f: string) => fs.writeFileSync(f, 'x'.repeat(8192)), problem: /exists but cannot be read/ },
    {
      name: 'cut in the middle',
      damage: (f: string) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2)),
      problem: /exists but (is damaged|cannot be read|holds)/,
    },
  ])('refuses a store file $name, changing nothing, and names the flag that starts afresh', async ({ damage, problem }) => {
    await runningCluster();
    const file = path.join(dataDir, SQLITE_FILE);
    for (const f of [`${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    damage(file);
    const before = fs.readFileSync(file);

    const err = await start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreStateMissingError);
    expect((err as DroverError).code).toBe(Code.FailedPrecondition);
    expect((err as DroverError).message).toMatch(problem);
    expect((err as DroverError).message).toContain('--force-new-cluster');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('starts afresh only when forced, keeps the damaged file, adopts the running task instead of killing it, and moves its epoch past the agent', async () => {
    const { spec, register } = await runningCluster();
    const file = path.join(dataDir, SQLITE_FILE);
    fs.truncateSync(file, 0);

    const m = await start(true);
    expect(fs.readdirSync(dataDir).some((f) => f.startsWith(`${SQLITE_FILE}.unusable-`))).toBe(true);
    const { agent, registered } = await connect(m, register);
    expect(registered.agentId).toBe(register.agentId);
    // The agent saw `register.epoch`: anything lower it would refuse forever.
    expect(registered.epoch).toBeGreaterThan(register.epoch);
    expect(m.epoch).toBe(registered.epoch);

    const c = masterClients(m);
    const [task] = await c.tasks();
    expect(task).toMatchObject({ id: spec.taskId, appId: '/keep', adopted: true, pid: 4242, agentId: register.agentId });
    expect(taskStateCodec.name(task?.state ?? 0)).toBe('RUNNING');
    // Several reconcile passes later: nothing killed, nothing launched.
    await new Promise((r) => setTimeout(r, 1500));
    expect(agent.drain('kill')).toEqual([]);
    expect(agent.drain('launch')).toEqual([]);
    expect((await c.info()).epoch).toBe(m.epoch);

    // The operator decides: the adopted task can be killed like any other, with an epoch the agent accepts.
    await c.killTask(spec.taskId);
    const kill = await agent.next('kill');
    expect(kill).toMatchObject({ taskId: spec.taskId, epoch: m.epoch });
    c.close();
  });

  it('adopts tasks of an agent whose epoch is beyond the store (restored from an older backup), and raises its epoch past it', async () => {
    const { spec, register } = await runningCluster();
    // The agent went on with masters whose state this store never saw.
    const m = await start();
    const seen = m.epoch + 5;
    const stray = { ...spec, taskId: `${spec.taskId.slice(0, -4)}beef` };
    const { agent, registered } = await connect(m, {
      ...register,
      epoch: seen,
      tasks: [...register.tasks, TaskStatus.fromPartial({ uuid: 'r2', taskId: stray.taskId, state: TaskState.TASK_STATE_RUNNING, pid: 99 })],
      taskSpecs: [spec, stray],
    });
    expect(registered.epoch).toBe(seen + 1);
    const c = masterClients(m);
    const tasks = await until(c.tasks, (ts) => ts.length === 2);
    expect(tasks.find((t) => t.id === stray.taskId)).toMatchObject({ adopted: true, appId: '/keep' });
    expect(tasks.find((t) => t.id === spec.taskId)).toMatchObject({ adopted: false });
    c.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.drain('launch')).toEqual([]);
  });

  it('still kills a live task it has no record of when its state is whole (the agent saw only older epochs)', async () => {
    const { spec, register } = await runningCluster();
    const m = await start();
    const stray = { ...spec, taskId: `${spec.taskId.slice(0, -4)}beef` };
    const { agent, registered } = await connect(m, {
      ...register,
      tasks: [...register.tasks, TaskStatus.fromPartial({ uuid: 'r2', taskId: stray.taskId, state: TaskState.TASK_STATE_RUNNING, pid: 99 })],
      taskSpecs: [spec, stray],
    });
    expect(registered.epoch).toBe(m.epoch);
    expect(await agent.next('kill')).toMatchObject({ taskId: stray.taskId, reason: expect.any(Number) });
    const c = masterClients(m);
    expect((await c.tasks()).map((t) => t.id)).toEqual([spec.taskId]);
    c.close();
  });
});
