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
  type RunTaskRequest,
  type RunTaskResponse,
  type TasksServer,
  type WatchEventsRequest,
} from '@drover/proto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { DeploymentService } from '../../deployments/deployment-service.js';
import type { EventBus } from '../../events/event-bus.js';
import type { AgentAdmin } from '../../agents/agent-admin.js';
import type { AppService } from '../../apps/app-service.js';
import type { Clock } from '../../clock.js';
import type { ClusterState } from '../../state/cluster-state.js';
import type { TaskService } from '../../tasks/task-service.js';
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

/** Tasks service. */
export function tasksServer(tasks: TaskService): TasksServer {
  return {
    list: unary((req) => tasks.list({ appId: req.appId || undefined, includeEnded: req.includeEnded })),
    get: unary((req) => ({ task: tasks.get(req.id) })),
    kill: unary(async (req) => ({ task: await tasks.kill(req.id) })),
    run: (call: ServerWritableStream<RunTaskRequest, RunTaskResponse>) => void runTask(tasks, call),
  };
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
  readonly grpcAddress: string;
  readonly epoch: number;
  readonly startedAt: number;
  readonly storeKind: string;
}

/** Cluster service. */
export function clusterServer(state: ClusterState, facts: ClusterFacts, clock: Clock): ClusterServer {
  return {
    info: unary(
      (): InfoResponse => ({
        version: DROVER_VERSION,
        leader: facts.grpcAddress,
        isLeader: true,
        uptimeSeconds: (clock.now() - facts.startedAt) / 1000,
        startedAt: new Date(facts.startedAt),
        epoch: facts.epoch,
        agentsActive: state.allAgents().filter((a) => a.state === 'ACTIVE').length,
        apps: state.allApps().length,
        tasksLive: state.allTasks().filter((t) => isLive(t.state)).length,
        store: facts.storeKind,
      }),
    ),
  };
}
