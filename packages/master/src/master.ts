/**
 * startMaster: the master's composition root. Opens the store chosen by the
 * options, takes leadership (single master: a new term in the store, whose
 * generation is the epoch stamped on every agent command), loads the state
 * fenced by that term, wires the components, and serves gRPC and HTTP.
 */
import os from 'node:os';
import { createLogger, serverCredentials } from '@drover/common';
import { agentGateway } from './api/grpc/agent-gateway.js';
import { agentsServer, appsServer, clusterServer, deploymentsServer, eventsServer, tasksServer } from './api/grpc/client-services.js';
import { startGrpcServer, stopGrpcServer } from './api/grpc/grpc-server.js';
import { startHttpServer } from './api/http/http-server.js';
import { MasterEpoch } from './leadership/master-epoch.js';
import { SingleMasterLeadership } from './leadership/single-master-leadership.js';
import { buildCore } from './master-core.js';
import type { MasterOptions, RunningMaster } from './master-options.js';
import { systemClock } from './model/clock.js';
import { ClusterState } from './state/cluster-state.js';
import { openStore } from './store/open-store.js';

/** Default gRPC port. */
export const DEFAULT_GRPC_PORT = 5053;
/** Default HTTP port. */
export const DEFAULT_HTTP_PORT = 5050;
/**
 * Default agent lost timeout. With pings every quarter of it (750 ms), an
 * agent is declared lost after missing four in a row, and its tasks (under
 * the default unreachable strategy) are RUNNING elsewhere about 3 s after it
 * went silent (scripts/bench/unreachable: 2.9 s p50, 3.4 s p99). Longer means fewer false alarms on a
 * congested network or a paused VM; README.md says how to choose.
 */
export const DEFAULT_AGENT_LOST_TIMEOUT_MS = 3000;

/** Starts a master and resolves once it serves. */
export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const log = (options.logger ?? createLogger()).child({ component: 'master' });
  const clock = systemClock;
  const lostTimeoutMs = options.agentLostTimeoutMs ?? DEFAULT_AGENT_LOST_TIMEOUT_MS;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.max(100, Math.floor(lostTimeoutMs / 4));
  const grpcHost = options.grpcHost ?? '0.0.0.0';
  const httpHost = options.httpHost ?? grpcHost;

  const store = await openStore({ kind: 'sqlite', dataDir: options.dataDir, forceNewCluster: options.forceNewCluster });
  let leadership: SingleMasterLeadership;
  let state: ClusterState;
  try {
    leadership = new SingleMasterLeadership(await MasterEpoch.start(store));
    state = await ClusterState.load(store, {
      fence: leadership.fence,
      onFatal: (error) => {
        // Memory and disk disagree now (or another master took over): stop
        // serving rather than act on state that may not survive (fail-stop).
        // A restart reloads the durable state.
        log.fatal({ err: error }, 'state store failed; stopping the master');
        void stop();
      },
      log,
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  leadership.onChange((change) => {
    if (change.isLeader) return;
    log.fatal({ leader: change.leaderAddress }, 'lost leadership; stopping the master');
    void stop();
  });

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

  const startedAt = clock.now();
  const facts = { grpcAddress: '', leadership, startedAt, storeKind: store.kind };
  const grpc = await startGrpcServer(
    {
      agent: agentGateway({ state, sessions, registration, statuses, clock, log, epoch: leadership, heartbeatIntervalMs, files: core.fileRelay, secure: options.tls !== undefined }),
      apps: appsServer(core.apps),
      tasks: tasksServer(core.tasks, core.files),
      agents: agentsServer(core.agents),
      cluster: clusterServer(state, facts, clock),
      deployments: deploymentsServer(core.deployments),
      events: eventsServer(core.events),
    },
    { host: grpcHost, port: options.grpcPort ?? DEFAULT_GRPC_PORT, credentials: serverCredentials(options.tls), secure: options.tls !== undefined, log },
  );
  const advertisedHost = grpcHost === '0.0.0.0' || grpcHost === '::' ? os.hostname() : grpcHost;
  facts.grpcAddress = `${advertisedHost}:${grpc.port}`;
  const advertisedHttpHost = httpHost === '0.0.0.0' || httpHost === '::' ? os.hostname() : httpHost;
  const http = await startHttpServer(core, {
    host: httpHost,
    port: options.httpPort ?? DEFAULT_HTTP_PORT,
    advertisedHost: advertisedHttpHost,
    tls: options.tls,
    facts,
    log,
  });
  leadership.advertise({ grpc: facts.grpcAddress, http: `${advertisedHttpHost.includes(':') ? `[${advertisedHttpHost}]` : advertisedHttpHost}:${http.port}` });

  core.start();
  log.info({ grpc: facts.grpcAddress, http: http.port, epoch: leadership.epoch, term: leadership.term, dataDir: options.dataDir }, 'master started');

  function stop(): Promise<void> {
    stopping ??= (async () => {
      await core.stop();
      sessions.closeAll();
      await stopGrpcServer(grpc.server);
      await http.close();
      await state.settle();
      await store.close();
      log.info('master stopped');
    })();
    return stopping;
  }

  return {
    grpcPort: grpc.port,
    httpPort: http.port,
    grpcAddress: facts.grpcAddress,
    get epoch() {
      return leadership.epoch;
    },
    stop,
  };
}
