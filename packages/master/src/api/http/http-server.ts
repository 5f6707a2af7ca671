/**
 * The master's HTTP(S) port: liveness (/ping, as Marathon answers it),
 * Prometheus metrics (/metrics), and the Marathon-compatible REST API and
 * event stream under /v2 (marathon/marathon-api.ts). The web UI is added
 * here by a later feature. With TLS, every route but /ping needs a client
 * certificate from the cluster's CA with a role allowed to use it
 * (http-access.ts). While this master is a standby, /v2 goes to the leader
 * (leader-proxy.ts).
 */
import { isLive, type Logger, type TlsMaterial } from '@drover/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiServices } from '../api-services.js';
import type { ClusterState } from '../../state/cluster-state.js';
import type { ClusterFacts } from '../grpc/client-services.js';
import { requireHttpRoles } from './http-access.js';
import { registerLeaderProxy } from './leader-proxy.js';
import type { EventStreamOptions } from './marathon/event-stream.js';
import { registerMarathonApi } from './marathon/marathon-api.js';
import { listenFailure } from '../listen-failure.js';

/** Where and how to serve HTTP. */
export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The host clients reach this master by (for /v2/leader and /v2/info). */
  readonly advertisedHost: string;
  readonly tls?: TlsMaterial;
  /** What /v2/info reports (read at request time, so it may be filled in later). */
  readonly facts: ClusterFacts;
  readonly events?: EventStreamOptions;
  /** Where refused requests are logged. */
  readonly log: Logger;
}

/** Starts the HTTP server; resolves with the bound port. */
export async function startHttpServer(core: ApiServices, options: HttpServerOptions): Promise<{ close: () => Promise<void>; port: number }> {
  const { host, tls, facts } = options;
  // Request logging stays off: /metrics is scraped every few seconds.
  // With TLS the same certificate serves HTTPS. A client certificate is
  // asked for but not required by the handshake (rejectUnauthorized: false),
  // so /ping answers without one; http-access.ts refuses the rest.
  const app = Fastify({
    logger: false,
    https: tls ? { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false } : null,
  });
  requireHttpRoles(app, tls !== undefined, options.log);
  let port = options.port;
  const httpAddress = () => `${options.advertisedHost.includes(':') ? `[${options.advertisedHost}]` : options.advertisedHost}:${port}`;
  await registerLeaderProxy(app, { leadership: facts.leadership, self: httpAddress, tls });
  const registry = metrics(core.state);
  app.get('/ping', async (_req, reply) => reply.type('text/plain').send('pong'));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  registerMarathonApi(app, {
    core,
    facts: {
      get grpcAddress() {
        return facts.grpcAddress;
      },
      leadership: facts.leadership,
      ha: facts.ha,
      startedAt: facts.startedAt,
      storeKind: facts.storeKind,
      httpAddress,
      https: tls !== undefined,
    },
    events: options.events,
  });
  await app.listen({ host, port }).catch(async (e: unknown) => {
    throw await listenFailure(e, 'http', host, port);
  });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : port;
  return { close: () => closeWithGrace(app), port };
}

/** Requests in flight get a moment to finish; then every connection is cut, idle ones a client never used included. */
async function closeWithGrace(app: FastifyInstance, graceMs = 1000): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}

function metrics(state: ClusterState): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'drover_master_' });
  new Gauge({
    name: 'drover_agents',
    help: 'Agents known to the master, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of state.allAgents()) this.inc({ state: a.state });
    },
  });
  new Gauge({
    name: 'drover_tasks',
    help: 'Tasks the master holds (live and recently ended), by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of state.allTasks()) this.inc({ state: t.state });
    },
  });
  new Gauge({
    name: 'drover_tasks_live',
    help: 'Tasks holding resources on agents.',
    registers: [registry],
    collect() {
      this.set(state.allTasks().filter((t) => isLive(t.state)).length);
    },
  });
  new Gauge({
    name: 'drover_apps',
    help: 'Apps stored.',
    registers: [registry],
    collect() {
      this.set(state.allApps().length);
    },
  });
  return registry;
}
