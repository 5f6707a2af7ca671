/**
 * One term of serving: the state loaded from the store (or none, for a
 * standby), the components wired around it, and the gRPC and HTTP servers.
 * The single master serves once, as leader, for as long as it runs; an HA
 * master serves as a standby until it is elected, then closes that and
 * serves again, as leader, on the same ports (ha-master.ts).
 */
import os from 'node:os';
import type { Logger } from '@drover/common';
import { serverCredentials } from '@drover/common';
import { agentGateway } from './api/grpc/agent-gateway.js';
import { agentsServer, appsServer, clusterServer, deploymentsServer, eventsServer, tasksServer } from './api/grpc/client-services.js';
import { startGrpcServer, stopGrpcServer } from './api/grpc/grpc-server.js';
import { startHttpServer } from './api/http/http-server.js';
import type { Leadership, MasterAddresses } from './leadership/leadership.js';
import { buildCore } from './master-core.js';
import type { MasterOptions } from './master-options.js';
import type { Clock } from './model/clock.js';
import { ClusterState } from './state/cluster-state.js';
import type { Store } from './store/store.js';

/** Default gRPC port. */
export const DEFAULT_GRPC_PORT = 5053;
/** Default HTTP port. */
export const DEFAULT_HTTP_PORT = 5050;
/**
 * Default agent lost timeout. With pings every quarter of it (750 ms), an
 * agent is declared lost after missing four in a row, and its tasks (under
 * the default unreachable strategy) are RUNNING elsewhere about 3 s after it
 * went silent (scripts/bench/unreachable: 2.9 s p50, 3.4 s p99). Longer means
 * fewer false alarms on a congested network or a paused VM; README.md says
 * how to choose.
 */
export const DEFAULT_AGENT_LOST_TIMEOUT_MS = 3000;

/** What one term of serving needs. */
export interface ServeContext {
  readonly options: MasterOptions;
  readonly store: Store;
  readonly leadership: Leadership;
  /** 'leader' loads the state and acts on it; 'standby' holds no state and only redirects. */
  readonly role: 'leader' | 'standby';
  /** True when this master is one of several (`ha` in /v2/info). */
  readonly ha: boolean;
  /** Ports to bind (those of the previous term, so clients find the master where it was). */
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly startedAt: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** The state store failed: memory and store may disagree, so the master must stop. */
  readonly onFatal: (error: unknown) => void;
  /** The leader's state, when loaded beforehand (an HA master loads it while its standby servers still answer). */
  readonly state?: ClusterState;
}

/** Loads the state a leader serves, fenced by its leadership. */
export function loadLeaderState(ctx: Pick<ServeContext, 'store' | 'leadership' | 'onFatal' | 'log'>): Promise<ClusterState> {
  return ClusterState.load(ctx.store, { fence: ctx.leadership.fence, onFatal: ctx.onFatal, log: ctx.log });
}

/** A term of serving that is up. */
export interface Serving {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Where agents, clients and other masters reach this master. */
  readonly addresses: MasterAddresses;
  /** Stops acting, then serving; waits for the writes in flight. Leaves the store open. */
  close(): Promise<void>;
  /** Fails every write not yet durable with `error` (clients waiting on one get it) and refuses later ones; then close(). */
  abandon(error: unknown): void;
}

/** The host to advertise for a listen host: the advertised one if given, else the host itself unless it means every interface. */
export function advertisedHost(listenHost: string, advertise: string | undefined): string {
  return advertise ?? (listenHost === '0.0.0.0' || listenHost === '::' ? os.hostname() : listenHost);
}

/** host:port, with an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Loads (as leader), wires and serves; resolves once both servers listen. */
export async function serve(ctx: ServeContext): Promise<Serving> {
  const { options, store, leadership, clock, log } = ctx;
  const lostTimeoutMs = options.agentLostTimeoutMs ?? DEFAULT_AGENT_LOST_TIMEOUT_MS;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.max(100, Math.floor(lostTimeoutMs / 4));
  const grpcHost = options.grpcHost ?? '0.0.0.0';
  const httpHost = options.httpHost ?? grpcHost;

  const state = ctx.state ?? (ctx.role === 'leader' ? await loadLeaderState(ctx) : ClusterState.empty(store, { fence: leadership.fence, onFatal: ctx.onFatal, log }));
  const core = buildCore(
    state,
    leadership,
    {
      lostTimeoutMs,
      taskHistoryMs: options.taskHistoryMs,
      taskHistoryMax: options.taskHistoryMax,
      backoffResetMs: options.backoffResetMs,
      minRunningMs: options.minRunningMs,
    },
    clock,
    log,
  );
  const { sessions, registration, statuses } = core;
  const facts = { grpcAddress: '', leadership, ha: ctx.ha, startedAt: ctx.startedAt, storeKind: store.kind };
  const grpc = await startGrpcServer(
    {
      agent: agentGateway({ state, sessions, registration, statuses, clock, log, leadership, heartbeatIntervalMs, files: core.fileRelay, secure: options.tls !== undefined }),
      apps: appsServer(core.apps),
      tasks: tasksServer(core.tasks, core.files),
      agents: agentsServer(core.agents),
      cluster: clusterServer(state, facts, clock),
      deployments: deploymentsServer(core.deployments),
      events: eventsServer(core.events),
    },
    {
      host: grpcHost,
      port: ctx.grpcPort,
      credentials: serverCredentials(options.tls),
      secure: options.tls !== undefined,
      log,
      // While not leading, client calls are refused with the leader's address.
      leadership,
      self: () => facts.grpcAddress,
    },
  );
  facts.grpcAddress = hostPort(advertisedHost(grpcHost, options.advertiseHost), grpc.port);
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    http = await startHttpServer(core, {
      host: httpHost,
      port: ctx.httpPort,
      advertisedHost: advertisedHost(httpHost, options.advertiseHost),
      tls: options.tls,
      facts,
      log,
    });
  } catch (error) {
    grpc.stopReporting();
    await stopGrpcServer(grpc.server);
    throw error;
  }
  if (ctx.role === 'leader') core.start();

  let closing: Promise<void> | undefined;
  return {
    grpcPort: grpc.port,
    httpPort: http.port,
    addresses: { grpc: facts.grpcAddress, http: hostPort(advertisedHost(httpHost, options.advertiseHost), http.port) },
    abandon(error: unknown) {
      state.abandon(error);
    },
    close() {
      closing ??= (async () => {
        await core.stop();
        sessions.closeAll();
        grpc.stopReporting();
        await stopGrpcServer(grpc.server);
        await http.close();
        await state.settle();
      })();
      return closing;
    },
  };
}
