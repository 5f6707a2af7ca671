import { Code, DroverError, NotFoundError, toGrpcError, ValidationError } from '@drover/common';
import {
  type Agent,
  AgentsService,
  AgentState,
  type App,
  type AppSpec,
  AppsService,
  ClusterService,
  type RunTaskRequest,
  type Task,
  TasksService,
  TaskState,
} from '@drover/proto';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverClient } from './drover-client.js';

const spec: AppSpec = {
  id: '/web',
  cmd: 'serve',
  args: [],
  cpus: 0.1,
  mem: 64,
  instances: 2,
  env: {},
  labels: {},
  portDefinitions: [],
  constraints: [],
  placementStrategy: 0,
};
const app: App = {
  spec,
  version: '2025-01-01T00:00:00.000Z',
  status: { tasksRunning: 2, tasksStaged: 0, tasksKilling: 0, launchDelaySeconds: 0, consecutiveFailures: 0 },
};
const task: Task = {
  id: 'web.1',
  appId: '/web',
  appVersion: app.version,
  agentId: 'a1',
  host: 'h1',
  state: TaskState.TASK_STATE_RUNNING,
  ports: [{ number: 31000, name: '', protocol: 'tcp' }],
  stagedAt: new Date('2025-01-01T00:00:01.000Z'),
  signal: '',
  reason: 0,
  message: '',
  killRequested: false,
  pid: 42,
};
const waitingWeb = {
  appId: '/web',
  instances: 1,
  explanation: { waiting: 1, agentsConsidered: 2, rejections: [{ reason: 'insufficient mem', agents: 2, detail: 'need 64 MiB, most free 32 MiB' }], summary: '2 agents: insufficient mem' },
};
const agent: Agent = {
  id: 'a1',
  hostname: 'h1',
  address: '10.0.0.1',
  state: AgentState.AGENT_STATE_ACTIVE,
  attributes: { rack: 'r1' },
  draining: false,
  tasks: 1,
  version: '0.1.0',
};

type Handler = (request: any) => unknown;

/** A master that answers from `handlers`; a handler that throws fails the call via toGrpcError, as the real master does. */
async function startFakeMaster(handlers: Record<string, Handler>): Promise<{ address: string; server: Server; seen: Array<[string, unknown]> }> {
  const server = new Server();
  const seen: Array<[string, unknown]> = [];
  const implement = (service: string, methods: readonly string[]): UntypedServiceImplementation =>
    Object.fromEntries(
      methods.map((m) => [
        m,
        (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
          const key = `${service}.${m}`;
          seen.push([key, call.request]);
          const handler = handlers[key];
          if (handler === undefined) return; // never answers: exercises the deadline
          try {
            callback(null, handler(call.request));
          } catch (e) {
            callback(toGrpcError(e));
          }
        },
      ]),
    );
  server.addService(AppsService, implement('apps', Object.keys(AppsService)));
  server.addService(TasksService, implement('tasks', Object.keys(TasksService)));
  server.addService(AgentsService, implement('agents', Object.keys(AgentsService)));
  server.addService(ClusterService, implement('cluster', Object.keys(ClusterService)));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, server, seen };
}

describe('DroverClient', () => {
  const violations = [
    { path: 'cpus', message: 'must be at least 0.001' },
    { path: 'portDefinitions[1].port', message: 'must be at most 65535' },
  ];
  let master: Awaited<ReturnType<typeof startFakeMaster>>;
  let client: DroverClient;

  beforeAll(async () => {
    master = await startFakeMaster({
      'apps.deploy': (req: { app: AppSpec }) => {
        if (req.app.id === '/bad') throw new ValidationError(violations, 'invalid app definition');
        return { app: { ...app, spec: req.app }, created: true };
      },
      'apps.get': (req: { id: string }) => {
        if (req.id !== '/web') throw new NotFoundError('app', req.id);
        return { app };
      },
      'apps.list': () => ({ apps: [app] }),
      'apps.scale': (req: { instances: number }) => ({ app: { ...app, spec: { ...spec, instances: req.instances } } }),
      'apps.delete': () => ({ tasksKilled: 2 }),
      'tasks.list': () => ({ tasks: [task], waiting: [waitingWeb] }),
      'tasks.get': () => ({ task }),
      'tasks.kill': () => ({ task: { ...task, state: TaskState.TASK_STATE_KILLING, killRequested: true } }),
      'agents.list': () => ({ agents: [agent] }),
      'agents.get': () => ({ agent }),
      'agents.drain': (req: { id: string; deadlineSeconds?: number }) => ({ agent: { ...agent, id: req.id, draining: true } }),
      'agents.undrain': (req: { id: string }) => ({ agent: { ...agent, id: req.id, draining: false } }),
      'cluster.info': () => ({ version: '0.1.0', leader: 'm1:5053', isLeader: true, uptimeSeconds: 5, epoch: 3, agentsActive: 1, apps: 1, tasksLive: 2, store: 'sqlite' }),
    });
    client = new DroverClient(master.address, { deadlineMs: 2_000 });
  });

  afterAll(() => {
    client.close();
    master.server.forceShutdown();
  });

  it.each([
    { name: 'deployApp', call: (c: DroverClient) => c.deployApp(spec), want: { app, created: true }, sent: ['apps.deploy', { app: spec }] },
    { name: 'getApp', call: (c: DroverClient) => c.getApp('/web'), want: app, sent: ['apps.get', { id: '/web' }] },
    { name: 'listApps', call: (c: DroverClient) => c.listApps(), want: [app], sent: ['apps.list', {}] },
    {
      name: 'scaleApp',
      call: (c: DroverClient) => c.scaleApp('/web', 5),
      want: { ...app, spec: { ...spec, instances: 5 } },
      sent: ['apps.scale', { id: '/web', instances: 5 }],
    },
    { name: 'deleteApp', call: (c: DroverClient) => c.deleteApp('/web'), want: { tasksKilled: 2 }, sent: ['apps.delete', { id: '/web' }] },
    {
      name: 'listTasks with filters',
      call: (c: DroverClient) => c.listTasks({ appId: 'web', includeEnded: true }),
      want: [task],
      sent: ['tasks.list', { appId: 'web', includeEnded: true }],
    },
    { name: 'listTasks without filters', call: (c: DroverClient) => c.listTasks(), want: [task], sent: ['tasks.list', { appId: '', includeEnded: false }] },
    {
      name: 'taskOverview',
      call: (c: DroverClient) => c.taskOverview({ appId: 'web' }),
      want: { tasks: [task], waiting: [waitingWeb] },
      sent: ['tasks.list', { appId: 'web', includeEnded: false }],
    },
    { name: 'getTask', call: (c: DroverClient) => c.getTask('web.1'), want: task, sent: ['tasks.get', { id: 'web.1' }] },
    {
      name: 'drainAgent',
      call: (c: DroverClient) => c.drainAgent('a1', 60),
      want: { ...agent, draining: true },
      sent: ['agents.drain', { id: 'a1', deadlineSeconds: 60 }],
    },
    { name: 'undrainAgent', call: (c: DroverClient) => c.undrainAgent('a1'), want: agent, sent: ['agents.undrain', { id: 'a1' }] },
    {
      name: 'killTask',
      call: (c: DroverClient) => c.killTask('web.1'),
      want: { ...task, state: TaskState.TASK_STATE_KILLING, killRequested: true },
      sent: ['tasks.kill', { id: 'web.1' }],
    },
    { name: 'listAgents', call: (c: DroverClient) => c.listAgents(), want: [agent], sent: ['agents.list', {}] },
    { name: 'getAgent', call: (c: DroverClient) => c.getAgent('a1'), want: agent, sent: ['agents.get', { id: 'a1' }] },
    {
      name: 'clusterInfo',
      call: (c: DroverClient) => c.clusterInfo(),
      want: expect.objectContaining({ version: '0.1.0', leader: 'm1:5053', isLeader: true, epoch: 3, store: 'sqlite' }),
      sent: ['cluster.info', {}],
    },
  ])('$name sends the request and returns the answer', async ({ call, want, sent }) => {
    const result = await call(client);
    expect(result).toEqual(want);
    expect(master.seen.at(-1)).toEqual(sent);
  });

  it('turns a BadRequest trailer into a ValidationError with the same violations', async () => {
    const err = await client.deployApp({ ...spec, id: '/bad' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe(Code.InvalidArgument);
    expect((err as ValidationError).violations).toEqual(violations);
  });

  it('turns NOT_FOUND into a DroverError with Code.NotFound', async () => {
    const err = await client.getApp('/nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(Code.NotFound);
    expect((err as DroverError).rawMessage).toBe('app /nope not found');
  });

  it('gives up at the deadline when the master does not answer', async () => {
    const silent = await startFakeMaster({});
    const c = new DroverClient(silent.address, { deadlineMs: 200 });
    try {
      const err = await c.listApps().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DroverError);
      expect((err as DroverError).code).toBe(Code.DeadlineExceeded);
    } finally {
      c.close();
      silent.server.forceShutdown();
    }
  });

  it('reports an unreachable master as Unavailable, naming its address', async () => {
    // A port that was just free: bind, learn it, shut down.
    const gone = await startFakeMaster({});
    gone.server.forceShutdown();
    const c = new DroverClient(gone.address, { deadlineMs: 5_000 });
    try {
      const err = await c.clusterInfo().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DroverError);
      expect((err as DroverError).code).toBe(Code.Unavailable);
      expect((err as DroverError).message).toContain(gone.address);
    } finally {
      c.close();
    }
  });

  it('rejects with a DroverError after close', async () => {
    const c = new DroverClient(master.address);
    c.close();
    await expect(c.listApps()).rejects.toBeInstanceOf(DroverError);
  });
});

describe('DroverClient.runTask', () => {
  it('streams every change of a one-off task and resolves with the last; a refused task is a ValidationError', async () => {
    const server = new Server();
    server.addService(TasksService, {
      run: (call: ServerWritableStream<RunTaskRequest, { task: Task }>) => {
        if (call.request.name === 'bad') {
          call.emit('error', toGrpcError(new ValidationError([{ path: 'cpus', message: 'must be at least 0.001' }])));
          return;
        }
        for (const state of [TaskState.TASK_STATE_PENDING, TaskState.TASK_STATE_RUNNING, TaskState.TASK_STATE_FINISHED]) {
          call.write({ task: { ...task, id: 'run.1', appId: '', state } });
          if (!call.request.wait) break;
        }
        call.end();
      },
    } as UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = new DroverClient(`127.0.0.1:${port}`);
    try {
      const seen: TaskState[] = [];
      const last = await client.runTask({ args: ['true'], wait: true }, (t) => seen.push(t.state));
      expect(seen).toEqual([TaskState.TASK_STATE_PENDING, TaskState.TASK_STATE_RUNNING, TaskState.TASK_STATE_FINISHED]);
      expect(last.state).toBe(TaskState.TASK_STATE_FINISHED);
      expect((await client.runTask({ args: ['true'] })).state).toBe(TaskState.TASK_STATE_PENDING);
      const err = await client.runTask({ args: ['true'], name: 'bad' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).violations).toEqual([{ path: 'cpus', message: 'must be at least 0.001' }]);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
