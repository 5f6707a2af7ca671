/**
 * The master's HTTP(S) port: liveness (/ping, as Marathon answers it) and
 * Prometheus metrics (/metrics). The Marathon REST API and the web UI are
 * added here by later features.
 */
import { isLive, type TlsMaterial } from '@drover/common';
import Fastify from 'fastify';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterState } from '../../state/cluster-state.js';

/** Starts the HTTP server; resolves with the bound port. */
export async function startHttpServer(
  state: ClusterState,
  host: string,
  port: number,
  tls?: TlsMaterial,
): Promise<{ close: () => Promise<void>; port: number }> {
  // Request logging stays off: /metrics is scraped every few seconds.
  // With TLS the same certificate serves HTTPS; /ping and /metrics need no
  // client certificate (load balancers and Prometheus probe them).
  const app = Fastify({ logger: false, https: tls ? { cert: tls.cert, key: tls.key } : null });
  const registry = metrics(state);
  app.get('/ping', async (_req, reply) => reply.type('text/plain').send('pong'));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  await app.listen({ host, port });
  const address = app.server.address();
  return { close: () => app.close(), port: typeof address === 'object' && address ? address.port : port };
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
