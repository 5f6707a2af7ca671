/**
 * The client-facing gRPC services (Apps, Tasks, Agents, Cluster): thin
 * adapters from requests to the shared services, no logic of their own.
 */
import { DROVER_VERSION, isLive, toGrpcError } from '@drover/common';
import {
  type AgentsServer,
  AppSpec,
  type AppsServer,
  type ClusterServer,
  type DeploymentsServer,
  type Event,
  type EventsServer,
  type InfoResponse,
  type ReadTaskFileRequest,
  type ReadTaskFileResponse,
  type RunTaskRequest,
  type RunTaskResponse,
  type TaskLogsRequest,
  type TaskLogsResponse,
  type TasksServer,
  type WatchEventsRequest,
} from '@drover/proto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { DeploymentService } from '../../services/deployment-service.js';
import type { EventBus } from '../../events/event-bus.js';
import type { AgentAdmin } from '../../services/agent-admin.js';
import type { AppService } from '../../services/app-service.js';
import type { Clock } from '../../model/clock.js';
import type { ByteSink, TaskFiles } from '../../files/task-files.js';
import type { Leadership } from '../../leadership/leadership.js';
import type { ClusterState } from '../../state/cluster-state.js';
import type { TaskService } from '../../services/task-service.js';
import { unary } from './unary.js';

/** Apps service. */
export function appsServer(apps: AppService): AppsServer {
  return {
    deploy: unary(async (req) => apps.deploy(req.app ?? AppSpec.fromPartial({}), req.force)),
    get: unary((req) => ({ app: apps.get(req.id) })),
    list: unary(() => ({ apps: apps.list() })),
    scale: unary(async (req) => {
      const { app, deployment } = await apps.scale(req.id, req.instances, req.force);
      return { app, deployment };
    }),
    delete: unary(async (req) => ({ tasksKilled: await apps.delete(req.id, req.force) })),
    restart: unary(async (req) => ({ deployment: await apps.restart(req.id, req.force) })),
    versions: unary((req) => ({ versions: apps.versions(req.id) })),
    rollback: unary(async (req) => {
      const { app, deployment } = await apps.rollback(req.id, req.toVersion, req.force);
      return { app, deployment };
    }),
  };
}

/** Deployments service. */
export function deploymentsServer(deployments: DeploymentService): DeploymentsServer {
  return {
    list: unary((req) => ({ deployments: deployments.list({ appId: req.appId || undefined, includeEnded: req.includeEnded }) })),
    get: unary((req) => ({ deployment: deployments.get(req.id) })),
    cancel: unary(async (req) => deployments.cancel(req.id, req.force)),
  };
}

/** Events service: replay after `after_id`, then live, until the client goes away. */
export function eventsServer(events: EventBus): EventsServer {
  return {
    watch: (call: ServerWritableStream<WatchEventsRequest, Event>) => {
      const types = new Set(call.request.types);
      const stop = events.subscribe(
        (e) => {
          if (types.size === 0 || types.has(e.type)) call.write(e);
        },
        call.request.afterId > 0 ? call.request.afterId : undefined,
      );
      call.on('cancelled', stop);
      call.on('close', stop);
    },
  };
}

/** Tasks service; logs and files are relayed from the task's agent. */
export function tasksServer(tasks: TaskService, files: TaskFiles): TasksServer {
  return {
    list: unary((req) => tasks.list({ appId: req.appId || undefined, includeEnded: req.includeEnded })),
    get: unary((req) => ({ task: tasks.get(req.id) })),
    kill: unary(async (req) => ({ task: await tasks.kill(req.id) })),
    run: (call: ServerWritableStream<RunTaskRequest, RunTaskResponse>) => void runTask(tasks, call),
    logs: (call: ServerWritableStream<TaskLogsRequest, TaskLogsResponse>) => {
      const { taskId, stderr, follow, tailLines } = call.request;
      void relayBytes(call, (sink, signal) => files.logs(taskId, { stderr, follow, tailLines }, sink, signal), (data) => ({ data }));
    },
    listFiles: unary(async (req) => ({ entries: await files.list(req.taskId, req.path) })),
    readFile: (call: ServerWritableStream<ReadTaskFileRequest, ReadTaskFileResponse>) => {
      const { taskId, path, offset, length } = call.request;
      void relayBytes(call, (sink, signal) => files.read(taskId, path, { offset, length }, sink, signal), (data, at) => ({ data, offset: at }));
    },
  };
}

/**
 * Runs a relayed byte stream on a server-streaming call: its bytes become
 * messages, the call ends when the stream does and fails with its error;
 * the client going away aborts it (which cancels the agent's side).
 */
async function relayBytes<Req, Res>(
  call: ServerWritableStream<Req, Res>,
  run: (sink: ByteSink, signal: AbortSignal) => Promise<unknown>,
  message: (data: Buffer, offset: number) => Res,
): Promise<void> {
  const stop = new AbortController();
  call.on('cancelled', () => stop.abort());
  const sink: ByteSink = {
    write: (data, offset) => call.write(message(data, offset)),
    drained: () =>
      new Promise<void>((resolve) => {
        if (!call.writableNeedDrain || stop.signal.aborted) return resolve();
        const done = () => {
          call.off('drain', done);
          stop.signal.removeEventListener('abort', done);
          resolve();
        };
        call.once('drain', done);
        stop.signal.addEventListener('abort', done, { once: true });
      }),
    get backlog() {
      return call.writableLength;
    },
  };
  try {
    await run(sink, stop.signal);
    if (!stop.signal.aborted) call.end();
  } catch (error) {
    if (!stop.signal.aborted) call.emit('error', toGrpcError(error));
  }
}

/** Tasks.Run: the new task, then (with wait) every change until it ends. */
async function runTask(tasks: TaskService, call: ServerWritableStream<RunTaskRequest, RunTaskResponse>): Promise<void> {
  let task;
  try {
    task = await tasks.run(call.request);
  } catch (error) {
    call.emit('error', toGrpcError(error));
    return;
  }
  call.write({ task });
  if (!call.request.wait) {
    call.end();
    return;
  }
  const stop = tasks.watch(task.id, (changed, ended) => {
    if (call.cancelled) return;
    call.write({ task: changed });
    if (ended) call.end();
  });
  // The client went away: the task runs on; stop reporting.
  call.on('cancelled', stop);
}

/** Agents service. */
export function agentsServer(agents: AgentAdmin): AgentsServer {
  return {
    list: unary(() => ({ agents: agents.list() })),
    get: unary((req) => ({ agent: agents.get(req.id) })),
    drain: unary(async (req) => ({ agent: await agents.drain(req.id, req.deadlineSeconds) })),
    undrain: unary(async (req) => ({ agent: await agents.undrain(req.id) })),
  };
}

/** Facts the Cluster service reports about its own master. */
export interface ClusterFacts {
  /** This master's own gRPC address. */
  readonly grpcAddress: string;
  /** Who leads, and the current epoch (it may be raised while the master runs). */
  readonly leadership: Pick<Leadership, 'isLeader' | 'epoch' | 'leaderAddress' | 'leaderHttpAddress' | 'masters'>;
  /** True when this master runs with others (an election decides who leads). */
  readonly ha: boolean;
  readonly startedAt: number;
  readonly storeKind: string;
}

/**
 * Cluster service. Info answers on every master, standbys included (see
 * standby-interceptor.ts): it is how clients learn who leads. A standby's
 * counts are those of the state it holds, which is not the leader's.
 */
export function clusterServer(state: ClusterState, facts: ClusterFacts, clock: Clock): ClusterServer {
  return {
    info: unary(async (): Promise<InfoResponse> => {
      const masters = await facts.leadership.masters();
      const { isLeader } = facts.leadership;
      return {
        version: DROVER_VERSION,
        leader: facts.leadership.leaderAddress,
        isLeader,
        uptimeSeconds: (clock.now() - facts.startedAt) / 1000,
        startedAt: new Date(facts.startedAt),
        // The leader's epoch, which a standby knows only from the masters list.
        epoch: isLeader ? facts.leadership.epoch : (masters.find((m) => m.isLeader)?.epoch ?? 0),
        agentsActive: state.allAgents().filter((a) => a.state === 'ACTIVE').length,
        apps: state.allApps().length,
        tasksLive: state.allTasks().filter((t) => isLive(t.state)).length,
        store: facts.storeKind,
        masters: masters.map((m) => ({ grpcAddress: m.grpc, httpAddress: m.http, role: m.isLeader ? 'leader' : 'standby', epoch: m.epoch })),
        leaderHttp: facts.leadership.leaderHttpAddress,
      };
    }),
  };
}
