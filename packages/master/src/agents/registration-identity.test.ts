/**
 * Who may register as an agent, over real gRPC in plaintext (mutual TLS is
 * covered by test-e2e/src/in-process/access.test.ts with real
 * certificates): a Register for a known agent id must carry that agent's
 * secret, an agent has one session at a time, and a refused Register
 * changes nothing at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, fromGrpcError, silentLogger } from '@drover/common';
import {
  AgentsClient,
  agentStateCodec,
  AppsClient,
  AppSpec,
  type ListAgentsResponse,
  type ListTasksResponse,
  type Register,
  TasksClient,
  taskStateCodec,
  TaskState,
  TaskStatus,
} from '@drover/proto';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MasterOptions, RunningMaster } from '../master-options.js';
import { startMaster } from '../master.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { FakeAgent, run } from '../testing/fake-agent.js';

let dataDir: string;
let master: RunningMaster | undefined;
const agents: FakeAgent[] = [];
const closers: Array<() => void> = [];

type Callback<Res> = (e: ServiceError | null, r?: Res) => void;
function call<Res>(invoke: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((e, r) => (e ? reject(fromGrpcError(e)) : resolve(r as Res))));
}

async function start(options: Partial<MasterOptions> = {}): Promise<RunningMaster> {
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, logger: silentLogger(), ...options });
  return master;
}

function address(): string {
  return `127.0.0.1:${master?.grpcPort}`;
}

function fakeAgent(register: Register): FakeAgent {
  const a = new FakeAgent(address(), register);
  agents.push(a);
  return a;
}

/** Everything about agents and tasks a refused Register must leave alone. */
async function clusterView(): Promise<unknown> {
  const tasksClient = new TasksClient(address(), credentials.createInsecure());
  const agentsClient = new AgentsClient(address(), credentials.createInsecure());
  closers.push(() => tasksClient.close(), () => agentsClient.close());
  const { tasks } = await call<ListTasksResponse>((cb) => tasksClient.list({ appId: '', includeEnded: true }, cb));
  const { agents: listed } = await call<ListAgentsResponse>((cb) => agentsClient.list({}, cb));
  return {
    tasks: tasks.map((t) => ({ id: t.id, agentId: t.agentId, state: taskStateCodec.name(t.state), pid: t.pid })).sort((x, y) => x.id.localeCompare(y.id)),
    agents: listed.map((a) => ({ id: a.id, hostname: a.hostname, state: agentStateCodec.name(a.state) })),
  };
}

/** An agent running two tasks of an app, each RUNNING with pid 4242. */
async function agentWithTasks(): Promise<{ real: FakeAgent; taskIds: string[] }> {
  const real = fakeAgent(FakeAgent.registration({ hostname: 'node-1' }));
  await real.connect();
  const apps = new AppsClient(address(), credentials.createInsecure());
  closers.push(() => apps.close());
  await call((cb) => apps.deploy({ app: AppSpec.fromPartial({ id: 'web', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 2 }), force: true }, cb));
  const taskIds = [(await real.next('launch')).task?.taskId ?? '', (await real.next('launch')).task?.taskId ?? ''];
  for (const id of taskIds) await run(real, id);
  return { real, taskIds };
}

/** Connects and returns the code the master refused the Register with. */
async function refusal(a: FakeAgent): Promise<Code> {
  const error = await a.connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the Register should have been refused').toBeDefined();
  return fromGrpcError(error).code;
}

/** Lets anything a refused Register might have set off happen (it must not). */
const settle = () => new Promise((r) => setTimeout(r, 300));

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-registration-'));
});

afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  for (const close of closers.splice(0)) close();
  await master?.stop();
  master = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('agent registration', () => {
  it('issues a secret at the first registration, and adopts the agent again when it proves itself', async () => {
    await start();
    const { real, taskIds } = await agentWithTasks();
    expect(real.register.agentSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const before = await clusterView();

    real.disconnect();
    real.register.tasks = taskIds.map((taskId) => TaskStatus.fromPartial({ uuid: `again-${taskId}`, taskId, state: TaskState.TASK_STATE_RUNNING, pid: 4242 }));
    const again = await connectWhenFree(real);
    expect(again.agentSecret).toBe('');
    await settle();
    expect(real.drain('launch')).toEqual([]);
    expect(real.drain('kill')).toEqual([]);
    expect(await clusterView()).toEqual(before);
  });

  it.each([
    { name: 'without a secret', secret: '' },
    { name: 'with a wrong secret', secret: 'guessed' },
  ])('refuses an impostor registering with a known agent id $name, and changes nothing', async ({ secret }) => {
    await start();
    const { real, taskIds } = await agentWithTasks();
    const before = await clusterView();
    const impostor = fakeAgent(FakeAgent.registration({ agentId: real.register.agentId, hostname: 'node-1', agentSecret: secret, tasks: [] }));

    // While the agent is connected, and while it is away.
    expect(await refusal(impostor)).toBe(Code.Unauthenticated);
    await settle();
    expect(await clusterView()).toEqual(before);
    real.disconnect();
    await settle();
    const away = await clusterView();
    expect(await refusal(impostor)).toBe(Code.Unauthenticated);
    await settle();
    expect(impostor.drain('launch')).toEqual([]);
    expect(await clusterView()).toEqual(away);

    // The real agent gets back in with everything it had.
    real.register.tasks = taskIds.map((taskId) => TaskStatus.fromPartial({ uuid: `back-${taskId}`, taskId, state: TaskState.TASK_STATE_RUNNING, pid: 4242 }));
    await connectWhenFree(real);
    await settle();
    expect(real.drain('kill')).toEqual([]);
    expect(await clusterView()).toEqual(before);
  });

  it('refuses a second session of a connected agent, even with the right secret, until the first one ends', async () => {
    await start();
    const { real, taskIds } = await agentWithTasks();
    const before = await clusterView();

    const twin = fakeAgent({ ...real.register, tasks: [] });
    expect(await refusal(twin)).toBe(Code.AlreadyExists);
    await settle();
    expect(twin.drain('launch')).toEqual([]);
    expect(await clusterView()).toEqual(before);
    // The first session still works.
    const uuid = real.status(taskIds[0] ?? '', TaskState.TASK_STATE_RUNNING, { pid: 4242 });
    await real.next('ack', 5000, (a) => a.uuid === uuid);

    // The agent dies (its socket closes, as kill -9 does): the same agent gets back in.
    real.disconnect();
    twin.register.tasks = taskIds.map((taskId) => TaskStatus.fromPartial({ uuid: `twin-${taskId}`, taskId, state: TaskState.TASK_STATE_RUNNING, pid: 4242 }));
    await connectWhenFree(twin);
    await settle();
    expect(twin.drain('kill')).toEqual([]);
    expect(await clusterView()).toEqual(before);
  });

  it('lets the agent back in once its old session has gone silent, before it is declared lost', async () => {
    await start({ heartbeatIntervalMs: 100, agentLostTimeoutMs: 5000 });
    const { real, taskIds } = await agentWithTasks();
    const before = await clusterView();
    // A half-open connection: the master's stream looks open but nothing comes back.
    real.answerPings = false;
    const back = fakeAgent({
      ...real.register,
      tasks: taskIds.map((taskId) => TaskStatus.fromPartial({ uuid: `back-${taskId}`, taskId, state: TaskState.TASK_STATE_RUNNING, pid: 4242 })),
    });
    expect(await refusal(back)).toBe(Code.AlreadyExists);
    await new Promise((r) => setTimeout(r, 450));
    await back.connect();
    await settle();
    expect(back.drain('kill')).toEqual([]);
    expect(await clusterView()).toEqual(before);
  });

  it('trusts an agent registered before secrets existed once, and then asks for its new secret', async () => {
    await start();
    const { real, taskIds } = await agentWithTasks();
    real.close();
    await master?.stop();
    master = undefined;
    // The store as an older master left it: no secret hash.
    const store = await SqliteStore.open(dataDir);
    const stored = await store.load();
    const record = stored.agents[0];
    expect(record?.secretHash).toBeDefined();
    const { secretHash: _, ...old } = record as NonNullable<typeof record>;
    await store.commit([{ kind: 'putAgent', agent: old }]);
    await store.close();

    await start();
    const reported = taskIds.map((taskId) => TaskStatus.fromPartial({ uuid: `up-${taskId}`, taskId, state: TaskState.TASK_STATE_RUNNING, pid: 4242 }));
    const upgraded = fakeAgent({ ...real.register, agentSecret: '', tasks: reported });
    const registered = await upgraded.connect();
    expect(registered.agentSecret).not.toBe('');
    expect(registered.agentSecret).not.toBe(real.register.agentSecret);
    const after = await clusterView();
    upgraded.disconnect();

    const impostor = fakeAgent({ ...real.register, agentSecret: '', tasks: [] });
    expect(await refusal(impostor)).toBe(Code.Unauthenticated);
    const stale = fakeAgent({ ...real.register, tasks: [] });
    expect(await refusal(stale)).toBe(Code.Unauthenticated);
    await settle();
    expect(await clusterView()).toMatchObject({ tasks: (after as { tasks: unknown[] }).tasks });
  });
});

/**
 * Connects as a restarted agent does: retrying while the master still holds
 * the old session (it learns of a cancelled stream a moment later).
 */
async function connectWhenFree(a: FakeAgent): Promise<Awaited<ReturnType<FakeAgent['connect']>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await a.connect();
    } catch (error) {
      if (fromGrpcError(error).code !== Code.AlreadyExists || attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
