/**
 * The client-facing gRPC services (Apps, Tasks, Agents, Cluster): thin
 * adapters from requests to the shared services, no logic of their own.
 */
import { DROVER_VERSION, NotFoundError, isLive } from '@drover/common';
import type { Agent, AgentsServer, AppsServer, ClusterServer, InfoResponse, TasksServer } from '@drover/proto';
import type { AgentSessions } from '../../agents/agent-sessions.js';
import type { AppService } from '../../apps/app-service.js';
import type { Clock } from '../../clock.js';
import { agentToProto } from '../../convert/to-proto.js';
import { reservationOf } from '../../orchestrator/agent-usage.js';
import type { ClusterState } from '../../state/cluster-state.js';
import type { AgentRecord } from '../../state/records.js';
import type { TaskService } from '../../tasks/task-service.js';
import { unary } from './unary.js';

/** Apps service. */
export function appsServer(apps: AppService): AppsServer {
  return {
    deploy: unary(async (req) => apps.deploy(req.app ?? emptySpec())),
    get: unary((req) => ({ app: apps.get(req.id) })),
    list: unary(() => ({ apps: apps.list() })),
    scale: unary(async (req) => ({ app: await apps.scale(req.id, req.instances) })),
    delete: unary(async (req) => ({ tasksKilled: await apps.delete(req.id) })),
  };
}

/** Tasks service. */
export function tasksServer(tasks: TaskService): TasksServer {
  return {
    list: unary((req) => ({ tasks: tasks.list({ appId: req.appId || undefined, includeEnded: req.includeEnded }) })),
    get: unary((req) => ({ task: tasks.get(req.id) })),
    kill: unary(async (req) => ({ task: await tasks.kill(req.id) })),
  };
}

/** Agents service. */
export function agentsServer(state: ClusterState, sessions: AgentSessions): AgentsServer {
  const view = (a: AgentRecord): Agent =>
    agentToProto(a, reservationOf(state, a), sessions.usage(a.id), sessions.lastSeenAt(a.id) ?? a.lastSeenAt);
  return {
    list: unary(() => ({ agents: state.allAgents().map(view) })),
    get: unary((req) => {
      const agent = state.agent(req.id);
      if (!agent) throw new NotFoundError('agent', req.id);
      return { agent: view(agent) };
    }),
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

function emptySpec() {
  return { id: '', cmd: '', args: [], env: {}, labels: {}, portDefinitions: [] };
}
