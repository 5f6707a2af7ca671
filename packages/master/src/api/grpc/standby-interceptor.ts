/**
 * What a standby master says to clients: only the leader serves them, so
 * every client call but Cluster.Info is refused here, before its handler
 * runs, with UNAVAILABLE and the leader's address in the `drover-leader`
 * trailer (NotLeaderError; absent while no leader is known). Nothing is
 * executed on a standby, which is what lets a client repeat any refused
 * call at the leader without asking whether it was idempotent.
 *
 * Agents' streams (AgentService) are answered by the gateway with a
 * NotLeader message instead (agent-gateway.ts); health and reflection
 * describe this server and answer on any master.
 */
import { NotLeaderError, toGrpcError } from '@drover/common';
import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  ResponderBuilder,
} from '@grpc/grpc-js';
import type { Leadership } from '../../leadership/leadership.js';

/** Methods and services every master answers, leader or not. */
const ANY_MASTER_METHODS: ReadonlySet<string> = new Set(['/drover.v1.Cluster/Info']);
const ANY_MASTER_SERVICES: ReadonlySet<string> = new Set([
  'drover.v1.AgentService',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

/** True when a standby answers `path` ("/drover.v1.Apps/Deploy") itself. */
export function answeredByAnyMaster(path: string): boolean {
  const service = /^\/([^/]+)\//.exec(path)?.[1];
  return ANY_MASTER_METHODS.has(path) || (service !== undefined && ANY_MASTER_SERVICES.has(service));
}

/** An interceptor refusing client calls while this master is not the leader; `self` names this master in the refusal. */
export function standbyInterceptor(leadership: Pick<Leadership, 'isLeader' | 'leaderAddress'>, self: () => string): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        // Read per call: leadership may come and go while the server runs.
        if (leadership.isLeader || answeredByAnyMaster(method.path)) {
          next(metadata);
          return;
        }
        const { code, details, metadata: trailers } = toGrpcError(new NotLeaderError(leadership.leaderAddress, `the master at ${self()}`));
        call.sendStatus({ code, details, metadata: trailers });
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}
