/**
 * The master's gRPC server: AgentService for agents, the client services,
 * the standard grpc.health.v1.Health service and server reflection (so
 * grpcurl and other generic tools work without the .proto files). Every
 * call first passes the role check of grpc-access.ts, then, while this
 * master is a standby, the refusal of standby-interceptor.ts.
 */
import { descriptorSetBase64 } from '@drover/proto';
import {
  AgentServiceService,
  type AgentServiceServer,
  AgentsService,
  type AgentsServer,
  AppsService,
  type AppsServer,
  ClusterService,
  type ClusterServer,
  DeploymentsService,
  type DeploymentsServer,
  EventsService,
  type EventsServer,
  TasksService,
  type TasksServer,
} from '@drover/proto';
import { type Server, Server as GrpcServer, type ServerCredentials } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '@drover/common';
import type { Leadership } from '../../leadership/leadership.js';
import { accessInterceptor } from './grpc-access.js';
import { standbyInterceptor } from './standby-interceptor.js';
import { listenFailure } from '../listen-failure.js';

/** The service implementations to serve. */
export interface GrpcServices {
  readonly agent: AgentServiceServer;
  readonly apps: AppsServer;
  readonly tasks: TasksServer;
  readonly agents: AgentsServer;
  readonly cluster: ClusterServer;
  readonly deployments: DeploymentsServer;
  readonly events: EventsServer;
}

/** Names under which health is reported ("" is the whole server). */
const HEALTH_NAMES = [
  '',
  'drover.v1.AgentService',
  'drover.v1.Apps',
  'drover.v1.Tasks',
  'drover.v1.Agents',
  'drover.v1.Cluster',
  'drover.v1.Deployments',
  'drover.v1.Events',
];

/** The services only the leader serves (standby-interceptor.ts refuses them elsewhere). */
const LEADER_ONLY_HEALTH_NAMES = ['drover.v1.Apps', 'drover.v1.Tasks', 'drover.v1.Agents', 'drover.v1.Deployments', 'drover.v1.Events'];

/** A bound, started gRPC server. */
export interface BoundGrpcServer {
  readonly server: Server;
  readonly port: number;
  readonly health: HealthImplementation;
  /** Stops following leadership changes (call when the server stops). */
  readonly stopReporting: () => void;
}

/** Where and how to serve. */
export interface GrpcServing {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly credentials: ServerCredentials;
  /** True when `credentials` serve mutual TLS: callers are then judged by their certificates' roles. */
  readonly secure: boolean;
  /** Where refused calls are logged. */
  readonly log: Logger;
  /** Whether this master leads (client calls are refused, and reported NOT_SERVING, while it does not). */
  readonly leadership: Pick<Leadership, 'isLeader' | 'leaderAddress' | 'onChange'>;
  /** This master's own gRPC address, named when it refuses a call as a standby. */
  readonly self: () => string;
}

/** Creates the server, binds it and starts serving. */
export async function startGrpcServer(services: GrpcServices, serving: GrpcServing): Promise<BoundGrpcServer> {
  const { host, port, credentials } = serving;
  const server = new GrpcServer({
    // In order: who may call at all, then whether this master serves the call.
    interceptors: [accessInterceptor(serving.secure, serving.log), standbyInterceptor(serving.leadership, serving.self)],
    // Agents keep one stream open for days: let HTTP/2 keepalive find dead peers.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  server.addService(AgentServiceService, services.agent);
  server.addService(AppsService, services.apps);
  server.addService(TasksService, services.tasks);
  server.addService(AgentsService, services.agents);
  server.addService(ClusterService, services.cluster);
  server.addService(DeploymentsService, services.deployments);
  server.addService(EventsService, services.events);

  const health = new HealthImplementation(Object.fromEntries(HEALTH_NAMES.map((n) => [n, 'SERVING' as const])));
  health.addToServer(server);
  // A standby serves only Cluster and agents' redirects: a load balancer
  // checking a client service should send its traffic to the leader.
  const reportLeadership = (isLeader: boolean) => {
    for (const name of LEADER_ONLY_HEALTH_NAMES) health.setStatus(name, isLeader ? 'SERVING' : 'NOT_SERVING');
  };
  reportLeadership(serving.leadership.isLeader);
  const stopReporting = serving.leadership.onChange((change) => reportLeadership(change.isLeader));
  const descriptors = loadFileDescriptorSetFromBuffer(Buffer.from(descriptorSetBase64, 'base64'));
  new ReflectionService(descriptors).addToServer(server);

  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, credentials, (error, actual) =>
      error ? listenFailure(error, 'grpc', host, port).then(reject) : resolve(actual),
    );
  }).catch((error: unknown) => {
    stopReporting();
    throw error;
  });
  return { server, port: bound, health, stopReporting };
}

/** Stops accepting calls, gives open calls a moment, then cuts them. */
export async function stopGrpcServer(server: Server, graceMs = 1000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
