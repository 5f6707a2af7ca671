import net from 'node:net';
import { Code, DroverError, NotFoundError, toGrpcError, UnreachableError, ValidationError } from '@drover/common';
import {
  type Agent,
  AgentsService,
  AgentState,
  App,
  AppSpec,
  AppsService,
  ClusterService,
  Deployment,
  DeploymentKind,
  DeploymentsService,
  DeploymentState,
  Event,
  EventsService,
  type ReadTaskFileRequest,
  type RunTaskRequest,
  type TaskLogsRequest,
  Task,
  TasksService,
  TaskState,
  type WatchEventsRequest,
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

const spec = AppSpec.fromPartial({ id: '/web', cmd: 'serve', cpus: 0.1, mem: 64, instances: 2 });
const app = App.fromPartial({
  spec,
  version: '2025-01-01T00:00:00.000Z',
  status: { tasksRunning: 2, tasksHealthy: 2, deployments: ['d1'] },
});
const deployment = Deployment.fromPartial({
  id: 'd1',
  appId: '/web',
  version: app.version,
  kind: DeploymentKind.DEPLOYMENT_KIND_UPDATE,
  state: DeploymentState.DEPLOYMENT_STATE_RUNNING,
  steps: [{ action: 'RestartApplication', appId: '/web' }],
  currentStep: 1,
  progress: { targetInstances: 2, newLive: 1, newHealthy: 1, oldRemaining: 1, healthyTotal: 2 },
  startedAt: new Date('2025-01-01T00:00:00.000Z'),
});
const rollback = Deployment.fromPartial({ ...deployment, id: 'd2', kind: DeploymentKind.DEPLOYMENT_KIND_ROLLBACK, rollsBack: 'd1' });
const task = Task.fromPartial({
  id: 'web.1',
  appId: '/web',
  appVersion: app.version,
  agentId: 'a1',
  host: 'h1',
  state: TaskState.TASK_STATE_RUNNING,
  ports: [{ number: 31000, name: '', protocol: 'tcp' }],
  stagedAt: new Date('2025-01-01T00:00:01.000Z'),
  pid: 42,
});
const waitingWeb = {
  appId: '/web',
  instances: 1,
  explanation: { waiting: 1, agentsConsidered: 2, rejections: [{ reason: 'insufficient mem', agents: 2, detail: 'need 64 MiB, most free 32 MiB' }], summary: '2 agents: insufficient mem' },
};
const agent: Agent = {
  bootId: '',
  id: 'a1',
  hostname: 'h1',
  address: '10.0.0.1',
  state: AgentState.AGENT_STATE_ACTIVE,
  attributes: { rack: 'r1' },
  draining: false,
  foreignPorts: [],
  capabilities: [],
  tasks: 1,
  version: '0.1.0',
};
/** Events the fake master streams, one of each payload kind. */
const events: Event[] = [
  Event.fromPartial({ id: 7, timestamp: new Date('2025-01-01T00:00:02.000Z'), type: 'status_update_event', payload: { $case: 'taskStatus', value: { task } } }),
  Event.fromPartial({ id: 8, timestamp: new Date('2025-01-01T00:00:03.000Z'), type: 'deployment_success', payload: { $case: 'deployment', value: { deployment } } }),
];

type Handler = (request: any) => unknown;

/** What a fake master saw: every request, and the streams whose client went away. */
interface FakeMaster {
  address: string;
  server: Server;
  seen: Array<[string, unknown]>;
  /** Resolves once the client canceled a stream of this method ("events.watch"). */
  canceled(key: string): Promise<void>;
}

/**
 * A master that answers from `handlers`; a handler that throws fails the
 * call via toGrpcError, as the real master does. A streaming handler gets
 * the call and writes to it itself.
 */
async function startFakeMaster(handlers: Record<string, Handler>): Promise<FakeMaster> {
  const server = new Server();
  const seen: Array<[string, unknown]> = [];
  const cancels = new Map<string, () => void>();
  const canceledKeys = new Map<string, Promise<void>>();
  const canceled = (key: string): Promise<void> => {
    let p = canceledKeys.get(key);
    if (!p) {
      p = new Promise<void>((resolve) => cancels.set(key, resolve));
      canceledKeys.set(key, p);
    }
    return p;
  };
  const implement = (service: string, definitions: Record<string, { responseStream: boolean }>): UntypedServiceImplementation =>
    Object.fromEntries(
      Object.entries(definitions).map(([m, definition]) => {
        const key = `${service}.${m}`;
        if (definition.responseStream) {
          return [
            m,
            (call: ServerWritableStream<unknown, unknown>) => {
              seen.push([key, call.request]);
              void canceled(key);
              call.on('cancelled', () => cancels.get(key)?.());
              handlers[key]?.(call);
            },
          ];
        }
        return [
          m,
          (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
            seen.push([key, call.request]);
            const handler = handlers[key];
            if (handler === undefined) return; // never answers: exercises the deadline
            try {
              callback(null, handler(call.request));
            } catch (e) {
              callback(toGrpcError(e));
            }
          },
        ];
      }),
    );
  server.addService(AppsService, implement('apps', AppsService));
  server.addService(TasksService, implement('tasks', TasksService));
  server.addService(AgentsService, implement('agents', AgentsService));
  server.addService(ClusterService, implement('cluster', ClusterService));
  server.addService(DeploymentsService, implement('deployments', DeploymentsService));
  server.addService(EventsService, implement('events', EventsService));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, server, seen, canceled };
}

describe('DroverClient', () => {
  const violations = [
    { path: 'cpus', message: 'must be at least 0.001' },
    { path: 'portDefinitions[1].port', message: 'must be at most 65535' },
  ];
  let master: FakeMaster;
  let client: DroverClient;

  beforeAll(async () => {
    master = await startFakeMaster({
      'apps.deploy': (req: { app: AppSpec; force: boolean }) => {
        if (req.app.id === '/bad') throw new ValidationError(violations, 'invalid app definition');
        if (req.app.id === '/locked' && !req.force) throw new DroverError('app /locked is locked by deployment d1', Code.FailedPrecondition);
        if (req.app.id === '/same') return { app: { ...app, spec: req.app }, created: false };
        return { app: { ...app, spec: req.app }, created: true, deployment };
      },
      'apps.get': (req: { id: string }) => {
        if (req.id !== '/web') throw new NotFoundError('app', req.id);
        return { app };
      },
      'apps.list': () => ({ apps: [app] }),
      'apps.scale': (req: { instances: number }) => ({ app: { ...app, spec: { ...spec, instances: req.instances } }, deployment }),
      'apps.delete': () => ({ tasksKilled: 2 }),
      'apps.restart': () => ({ deployment }),
      'apps.versions': () => ({ versions: [{ version: app.version, spec, configVersion: '' }] }),
      'apps.rollback': (req: { toVersion: string }) => {
        if (req.toVersion === 'nope') throw new NotFoundError('version', 'nope of app /web');
        return { app, deployment: rollback };
      },
      'deployments.list': () => ({ deployments: [deployment] }),
      'deployments.get': (req: { id: string }) => {
        if (req.id !== 'd1') throw new NotFoundError('deployment', req.id);
        return { deployment };
      },
      'deployments.cancel': (req: { force: boolean }) =>
        req.force ? { canceled: { ...deployment, state: DeploymentState.DEPLOYMENT_STATE_CANCELED } } : { canceled: deployment, rollback },
      'tasks.list': () => ({ tasks: [task], waiting: [waitingWeb] }),
      'tasks.get': () => ({ task }),
      'tasks.kill': () => ({ task: { ...task, state: TaskState.TASK_STATE_KILLING, killRequested: true } }),
      'agents.list': () => ({ agents: [agent] }),
      'agents.get': () => ({ agent }),
      'agents.drain': (req: { id: string; deadlineSeconds?: number }) => ({ agent: { ...agent, id: req.id, draining: true } }),
      'agents.undrain': (req: { id: string }) => ({ agent: { ...agent, id: req.id, draining: false } }),
      'cluster.info': () => ({ version: '0.1.0', leader: 'm1:5053', isLeader: true, uptimeSeconds: 5, epoch: 3, agentsActive: 1, apps: 1, tasksLive: 2, store: 'sqlite', masters: [], leaderHttp: 'm1:5050' }),
    });
    client = new DroverClient(master.address, { deadlineMs: 2_000 });
  });

  afterAll(() => {
    client.close();
    master.server.forceShutdown();
  });

  it.each([
    {
      name: 'deployApp',
      call: (c: DroverClient) => c.deployApp(spec),
      want: { app, created: true, deployment },
      sent: ['apps.deploy', { app: spec, force: false }],
    },
    {
      name: 'deployApp of an unchanged spec, forced',
      call: (c: DroverClient) => c.deployApp({ ...spec, id: '/same' }, { force: true }),
      want: { app: { ...app, spec: { ...spec, id: '/same' } }, created: false },
      sent: ['apps.deploy', { app: { ...spec, id: '/same' }, force: true }],
    },
    { name: 'getApp', call: (c: DroverClient) => c.getApp('/web'), want: app, sent: ['apps.get', { id: '/web' }] },
    { name: 'listApps', call: (c: DroverClient) => c.listApps(), want: [app], sent: ['apps.list', {}] },
    {
      name: 'scaleApp',
      call: (c: DroverClient) => c.scaleApp('/web', 5, { force: true }),
      want: { app: { ...app, spec: { ...spec, instances: 5 } }, deployment },
      sent: ['apps.scale', { id: '/web', instances: 5, force: true }],
    },
    { name: 'deleteApp', call: (c: DroverClient) => c.deleteApp('/web'), want: { tasksKilled: 2 }, sent: ['apps.delete', { id: '/web', force: false }] },
    {
      name: 'deleteApp forced',
      call: (c: DroverClient) => c.deleteApp('/web', { force: true }),
      want: { tasksKilled: 2 },
      sent: ['apps.delete', { id: '/web', force: true }],
    },
    { name: 'restartApp', call: (c: DroverClient) => c.restartApp('/web'), want: deployment, sent: ['apps.restart', { id: '/web', force: false }] },
    {
      name: 'appVersions',
      call: (c: DroverClient) => c.appVersions('web'),
      want: [{ version: app.version, spec, configVersion: '' }],
      sent: ['apps.versions', { id: 'web' }],
    },
    {
      name: 'rollbackApp to the previous version',
      call: (c: DroverClient) => c.rollbackApp('/web'),
      want: { app, deployment: rollback },
      sent: ['apps.rollback', { id: '/web', toVersion: '', force: false }],
    },
    {
      name: 'rollbackApp to a given version, forced',
      call: (c: DroverClient) => c.rollbackApp('/web', { toVersion: 'v1', force: true }),
      want: { app, deployment: rollback },
      sent: ['apps.rollback', { id: '/web', toVersion: 'v1', force: true }],
    },
    {
      name: 'listDeployments with filters, the app id made absolute',
      call: (c: DroverClient) => c.listDeployments({ appId: 'web', includeEnded: true }),
      want: [deployment],
      sent: ['deployments.list', { appId: '/web', includeEnded: true }],
    },
    { name: 'listDeployments', call: (c: DroverClient) => c.listDeployments(), want: [deployment], sent: ['deployments.list', { appId: '', includeEnded: false }] },
    { name: 'getDeployment', call: (c: DroverClient) => c.getDeployment('d1'), want: deployment, sent: ['deployments.get', { id: 'd1' }] },
    {
      name: 'cancelDeployment rolls back',
      call: (c: DroverClient) => c.cancelDeployment('d1'),
      want: { canceled: deployment, rollback },
      sent: ['deployments.cancel', { id: 'd1', force: false }],
    },
    {
      name: 'cancelDeployment forced has no rollback',
      call: (c: DroverClient) => c.cancelDeployment('d1', { force: true }),
      want: { canceled: { ...deployment, state: DeploymentState.DEPLOYMENT_STATE_CANCELED } },
      sent: ['deployments.cancel', { id: 'd1', force: true }],
    },
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

  it.each([
    { name: 'a change to a locked app', call: (c: DroverClient) => c.deployApp({ ...spec, id: '/locked' }), code: Code.FailedPrecondition, message: 'app /locked is locked by deployment d1' },
    { name: 'an unknown deployment', call: (c: DroverClient) => c.getDeployment('d9'), code: Code.NotFound, message: 'deployment d9 not found' },
    { name: 'a rollback to an unknown version', call: (c: DroverClient) => c.rollbackApp('/web', { toVersion: 'nope' }), code: Code.NotFound, message: 'version nope of app /web not found' },
  ])('keeps the code and message of $name', async ({ call, code, message }) => {
    const err = await call(client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(code);
    expect((err as DroverError).rawMessage).toBe(message);
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

describe('DroverClient streams', () => {
  let master: FakeMaster;
  let client: DroverClient;
  /** Streams of events.watch keyed by the first requested type, each a function of the call. */
  const scenarios: Record<string, (call: ServerWritableStream<WatchEventsRequest, Event>) => void> = {
    // Replays, then ends: after the client's deadline would have passed, to show there is none.
    replay: (call) => {
      setTimeout(() => {
        for (const e of events) call.write(e);
        call.end();
      }, 300);
    },
    // One event, then silence until the client goes away.
    hang: (call) => void call.write(events[0]!),
    fail: (call) => call.emit('error', toGrpcError(new DroverError('event feed broke', Code.Internal))),
  };

  beforeAll(async () => {
    master = await startFakeMaster({
      'events.watch': (call: ServerWritableStream<WatchEventsRequest, Event>) => scenarios[call.request.types[0] ?? 'replay']?.(call),
      'tasks.run': (call: ServerWritableStream<RunTaskRequest, { task: Task }>) => void call.write({ task: { ...task, state: TaskState.TASK_STATE_RUNNING } }),
    });
    client = new DroverClient(master.address, { deadlineMs: 200 });
  });

  afterAll(() => {
    client.close();
    master.server.forceShutdown();
  });

  it('watchEvents hands over every event in order, sends types and afterId, resolves when the stream ends, and has no deadline', async () => {
    const seen: Event[] = [];
    await client.watchEvents({ types: ['replay', 'deployment_success'], afterId: 6 }, (e) => seen.push(e));
    expect(seen).toEqual(events);
    expect(master.seen.at(-1)).toEqual(['events.watch', { types: ['replay', 'deployment_success'], afterId: 6 }]);
  });

  it('watchEvents resolves at once when aborted, and cancels the call', async () => {
    const stop = new AbortController();
    const seen: number[] = [];
    const watching = client.watchEvents({ types: ['hang'] }, (e) => {
      seen.push(e.id);
      stop.abort();
    }, stop.signal);
    await expect(watching).resolves.toBeUndefined();
    expect(seen).toEqual([7]);
    await master.canceled('events.watch');
  });

  it('watchEvents with an aborted signal does not call the master', async () => {
    const before = master.seen.length;
    await client.watchEvents({}, () => undefined, AbortSignal.abort());
    expect(master.seen.length).toBe(before);
  });

  it.each([
    { name: 'the master fails the stream', types: ['fail'], onEvent: () => undefined, code: Code.Internal, message: 'event feed broke' },
    {
      name: 'the listener throws',
      types: ['hang'],
      onEvent: () => {
        throw new DroverError('listener broke', Code.Internal);
      },
      code: Code.Internal,
      message: 'listener broke',
    },
  ])('watchEvents rejects with a DroverError when $name', async ({ types, onEvent, code, message }) => {
    const err = await client.watchEvents({ types }, onEvent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(code);
    expect((err as DroverError).rawMessage).toBe(message);
  });

  it('runTask stops following at once when aborted: rejects with Code.Canceled and cancels the call', async () => {
    const stop = new AbortController();
    const err = await client
      .runTask({ args: ['sleep', '600'], wait: true }, () => stop.abort(), stop.signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(Code.Canceled);
    expect((err as DroverError).rawMessage).toBe('stopped following task web.1');
    await master.canceled('tasks.run');
  });
});

describe('DroverClient task logs and files', () => {
  let server: Server;
  let client: DroverClient;
  const requests: Array<[string, unknown]> = [];
  let canceled: () => void = () => undefined;
  const logsCanceled = new Promise<void>((resolve) => (canceled = resolve));
  const entry = { path: 'logs/app.log', size: 3, isDirectory: false, modifiedAt: new Date('2025-06-01T12:00:00.000Z'), mode: 0o644 };

  beforeAll(async () => {
    server = new Server();
    server.addService(TasksService, {
      logs: (call: ServerWritableStream<TaskLogsRequest, { data: Buffer }>) => {
        requests.push(['logs', call.request]);
        if (call.request.taskId === 'gone.1') {
          call.emit('error', toGrpcError(new NotFoundError('task', 'gone.1')));
          return;
        }
        if (call.request.taskId === 'away.1') {
          call.emit('error', toGrpcError(new DroverError('agent node-9 is not connected', Code.Unavailable)));
          return;
        }
        call.write({ data: Buffer.from('line 1\n') });
        call.write({ data: Buffer.from([0xff, 0x00, 0x0a]) });
        // A follow stays open until the client goes away.
        if (call.request.follow) call.on('cancelled', () => canceled());
        else call.end();
      },
      listFiles: (call: ServerUnaryCall<{ taskId: string; path: string }, unknown>, callback: sendUnaryData<unknown>) => {
        requests.push(['listFiles', call.request]);
        callback(null, { entries: [entry] });
      },
      readFile: (call: ServerWritableStream<ReadTaskFileRequest, { data: Buffer; offset: number }>) => {
        requests.push(['readFile', call.request]);
        call.write({ data: Buffer.from('abc'), offset: 10 });
        call.write({ data: Buffer.from('def'), offset: 13 });
        call.end();
      },
    } as UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    client = new DroverClient(`127.0.0.1:${port}`, { deadlineMs: 200 });
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('taskLogs hands over the raw bytes in order, sends the options, and resolves when the log ends', async () => {
    const seen: Buffer[] = [];
    await client.taskLogs('web.1', { stderr: true, tailLines: 5 }, (d) => seen.push(Buffer.from(d)));
    expect(Buffer.concat(seen)).toEqual(Buffer.from('line 1\n\xff\x00\n', 'latin1'));
    expect(requests.at(-1)).toEqual(['logs', { taskId: 'web.1', stderr: true, follow: false, tailLines: 5 }]);
  });

  it.each([
    { name: '0 (no lines) as 0', tailLines: 0, sent: 0 },
    { name: 'unset (the whole file) as absent', tailLines: undefined, sent: undefined },
  ])('taskLogs sends tailLines $name', async ({ tailLines, sent }) => {
    await client.taskLogs('web.1', { tailLines }, () => undefined);
    const request = requests.at(-1)?.[1] as TaskLogsRequest;
    expect(request.tailLines).toBe(sent);
  });

  it('taskLogs with follow has no deadline and resolves at once when aborted, canceling the call', async () => {
    const stop = new AbortController();
    const seen: string[] = [];
    const following = client.taskLogs('web.1', { follow: true }, (d) => seen.push(Buffer.from(d).toString('latin1')));
    await new Promise((r) => setTimeout(r, 400)); // past the 200 ms deadline of unary calls
    expect(seen).toEqual(['line 1\n', '\xff\x00\n']);
    const aborted = client.taskLogs('web.1', { follow: true }, () => stop.abort(), stop.signal);
    await expect(aborted).resolves.toBeUndefined();
    await logsCanceled;
    void following.catch(() => undefined);
  });

  it.each([
    { name: 'an unknown task', taskId: 'gone.1', code: Code.NotFound, message: 'task gone.1 not found' },
    // The master answered: this is not "cannot reach the master".
    { name: 'a disconnected agent', taskId: 'away.1', code: Code.Unavailable, message: 'agent node-9 is not connected' },
  ])('taskLogs rejects with the master error for $name', async ({ taskId, code, message }) => {
    const err = await client.taskLogs(taskId, {}, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(code);
    expect((err as DroverError).rawMessage).toBe(message);
  });

  it('listTaskFiles returns the entries; readTaskFile hands over bytes with their offsets', async () => {
    expect(await client.listTaskFiles('web.1', 'logs')).toEqual([entry]);
    expect(requests.at(-1)).toEqual(['listFiles', { taskId: 'web.1', path: 'logs' }]);
    const parts: Array<[string, number]> = [];
    await client.readTaskFile('web.1', 'data.txt', { offset: 10 }, (d, offset) => parts.push([Buffer.from(d).toString(), offset]));
    expect(parts).toEqual([['abc', 10], ['def', 13]]);
    expect(requests.at(-1)).toEqual(['readFile', { taskId: 'web.1', path: 'data.txt', offset: 10, length: 0 }]);
  });
});

describe('DroverClient given several masters, when the first one goes away under a call', () => {
  /** A TCP relay to `target` whose connections can be cut, as a crash or a network failure cuts them. */
  async function relay(target: string): Promise<{ address: string; cut: () => void; close: () => void }> {
    const sockets = new Set<net.Socket>();
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const server = net.createServer((inbound) => {
      const outbound = net.connect(port, host);
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const cut = () => {
      for (const s of sockets) s.destroy();
    };
    return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, cut, close: () => (cut(), server.close()) };
  }

  it.each([
    { name: 'cut connection: a change (deployApp) is not repeated elsewhere', how: 'cut', call: (c: DroverClient) => c.deployApp(spec), method: 'apps.deploy', repeated: false },
    { name: 'cut connection: a read (listApps) goes to the next master', how: 'cut', call: (c: DroverClient) => c.listApps(), method: 'apps.list', repeated: true },
    { name: 'master shutting down: a change (scaleApp) is not repeated elsewhere', how: 'shutdown', call: (c: DroverClient) => c.scaleApp('/web', 3), method: 'apps.scale', repeated: false },
    { name: 'master shutting down: a read (getApp) goes to the next master', how: 'shutdown', call: (c: DroverClient) => c.getApp('/web'), method: 'apps.get', repeated: true },
  ])('$name', async ({ how, call, method, repeated }) => {
    // The first master takes the call and never answers; then it goes away under it.
    const first = await startFakeMaster({});
    const path = await relay(first.address);
    const next = await startFakeMaster({ 'apps.deploy': () => ({ app, created: true, deployment }), 'apps.list': () => ({ apps: [app] }), 'apps.scale': () => ({ app }), 'apps.get': () => ({ app }) });
    const c = new DroverClient([path.address, next.address], { deadlineMs: 5_000 });
    try {
      const outcome = call(c).then(
        () => 'answered',
        (e: unknown) => e,
      );
      const deadline = Date.now() + 5_000;
      while (!first.seen.some(([key]) => key === method) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(first.seen.map(([key]) => key)).toContain(method);
      if (how === 'cut') path.cut();
      else first.server.forceShutdown();
      const result = await outcome;
      if (repeated) {
        expect(result).toBe('answered');
        expect(c.address).toBe(next.address);
      } else if (how === 'cut') {
        expect(result).toBeInstanceOf(UnreachableError);
        expect(result).toMatchObject({ neverSent: false, target: path.address });
      } else {
        expect(result).toMatchObject({ code: Code.Canceled });
      }
      expect(next.seen.map(([key]) => key)).toEqual(repeated ? [method] : []);
    } finally {
      c.close();
      path.close();
      first.server.forceShutdown();
      next.server.forceShutdown();
    }
  });
});
