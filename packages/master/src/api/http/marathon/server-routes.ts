/**
 * /v2/info and /v2/leader: who serves the API, as the master's Leadership
 * says. Every master answers both itself, standbys included (the leader
 * proxy leaves them alone), as Marathon does: GET /v2/leader names the
 * leader's HTTP address, or answers 404 while none is known. Abdication is
 * not implemented: DELETE /v2/leader answers 501 (a standby passes it to
 * the leader).
 */
import { Code, DROVER_VERSION, DroverError } from '@drover/common';
import type { FastifyInstance } from 'fastify';
import type { ClusterFacts } from '../../grpc/client-services.js';
import type { Json } from './app-json.js';

/** Facts /v2/info reports about this master. */
export interface ServerFacts extends ClusterFacts {
  /** host:port of this master's HTTP API, as clients reach it. */
  readonly httpAddress: () => string;
  /** Whether the HTTP API is served over TLS. */
  readonly https: boolean;
}

/** Registers /v2/info and /v2/leader. */
export function serverRoutes(v2: FastifyInstance, facts: ServerFacts): void {
  v2.get('/info', () => infoJson(facts));
  v2.get('/leader', () => {
    const leader = leaderHttp(facts);
    // Marathon's words and status while an election is under way.
    if (leader === '') throw new DroverError('There is no leader', Code.NotFound);
    return { leader };
  });
  v2.delete('/leader', () => {
    throw new DroverError(
      facts.ha ? 'handing leadership over is not implemented: stop the leader instead' : 'this master runs without standbys: there is no leadership to hand over',
      Code.Unimplemented,
    );
  });
}

/** The leader's HTTP address as clients reach it; '' while none is known. */
function leaderHttp(facts: ServerFacts): string {
  // The leader names itself the way its own HTTP server sees it.
  if (facts.leadership.isLeader) return facts.leadership.leaderHttpAddress || facts.httpAddress();
  return facts.leadership.leaderHttpAddress;
}

/** Marathon's GET /v2/info, with the fields that mean something in Drover. */
export function infoJson(facts: ServerFacts): Json {
  const address = facts.httpAddress();
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const hostname = address.slice(0, address.lastIndexOf(':'));
  return {
    name: 'drover',
    version: DROVER_VERSION,
    buildref: null,
    elected: facts.leadership.isLeader,
    leader: leaderHttp(facts) || null,
    frameworkId: null,
    marathon_config: {
      // Where agents connect (Drover's gRPC port, in Mesos' place).
      master: facts.grpcAddress,
      framework_name: 'drover',
      hostname,
      ha: facts.ha,
      checkpoint: true,
      executor: '//cmd',
      failover_timeout: null,
      local_port_min: null,
      local_port_max: null,
      mesos_role: null,
      mesos_user: null,
      webui_url: null,
      mesos_leader_ui_url: null,
      task_launch_timeout: null,
      features: [],
    },
    zookeeper_config: null,
    event_subscriber: null,
    http_config: { http_port: facts.https ? null : port, https_port: facts.https ? port : null },
    drover: {
      epoch: facts.leadership.epoch,
      store: facts.storeKind,
      grpcAddress: facts.grpcAddress,
      startedAt: new Date(facts.startedAt).toISOString(),
    },
  };
}
