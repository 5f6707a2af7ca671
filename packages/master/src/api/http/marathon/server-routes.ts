/**
 * /v2/info and /v2/leader: who serves the API, as the master's Leadership
 * says. A single master is always the leader (standbys are planned), so
 * there is no leadership to abdicate: DELETE /v2/leader answers 501.
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
    if (!facts.leadership.isLeader) {
      const known = facts.leadership.leaderAddress;
      throw new DroverError(`this master is not the leader${known ? ` (the leader's gRPC address is ${known})` : ', and no leader is known'}`, Code.Unavailable);
    }
    return { leader: facts.httpAddress() };
  });
  v2.delete('/leader', () => {
    throw new DroverError('this master runs without standbys: there is no leadership to hand over', Code.Unimplemented);
  });
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
    leader: facts.leadership.isLeader ? address : null,
    frameworkId: null,
    marathon_config: {
      // Where agents connect (Drover's gRPC port, in Mesos' place).
      master: facts.grpcAddress,
      framework_name: 'drover',
      hostname,
      ha: false,
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
