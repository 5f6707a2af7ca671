/**
 * AgentService.Connect: where agents' streams arrive. The first message must
 * be Register; after Registered, the stream carries task status updates
 * (acked once durable), usage samples and pongs one way, and commands the
 * other way. A dropped stream leaves the agent DISCONNECTED; the monitor
 * declares it LOST if it does not come back within the lost timeout.
 *
 * Only agent certificates reach Connect under mutual TLS (the access
 * interceptor sees to it); which agent a Register may speak for is
 * registration's question (agent-identity.ts).
 *
 * A standby registers nobody: it answers the first message with NotLeader
 * naming the leader's address ('' while it knows none: the agent then tries
 * its next master) and ends the stream, so an agent never holds a session
 * with a master that cannot command it.
 */
import { Code, DroverError, type Logger, toGrpcError } from '@drover/common';
import type { AgentMessage, AgentServiceServer, MasterMessage } from '@drover/proto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Caller } from '../../auth/caller.js';
import { grpcCaller } from './grpc-access.js';
import type { Clock } from '../../model/clock.js';
import type { FileRelay } from '../../files/file-relay.js';
import type { Leadership } from '../../leadership/leadership.js';
import type { ClusterState } from '../../state/cluster-state.js';
import type { StatusHandler } from '../../tasks/status-handler.js';
import { AgentSession } from '../../sessions/agent-session.js';
import type { AgentSessions } from '../../sessions/agent-sessions.js';
import type { Registration } from '../../agents/registration.js';

/** Wiring the gateway needs. */
export interface AgentGatewayDeps {
  readonly state: ClusterState;
  readonly sessions: AgentSessions;
  readonly registration: Registration;
  readonly statuses: StatusHandler;
  readonly clock: Clock;
  readonly log: Logger;
  /** The epoch stamped on every message, and whether this master leads (a standby only redirects). */
  readonly leadership: Pick<Leadership, 'epoch' | 'isLeader' | 'leaderAddress'>;
  readonly heartbeatIntervalMs: number;
  /** Where agents' answers to file requests go. */
  readonly files?: FileRelay;
  /** True when the server serves mutual TLS (agents are then known by their certificates). */
  readonly secure: boolean;
}

/** The AgentService implementation. */
export function agentGateway(deps: AgentGatewayDeps): AgentServiceServer {
  return {
    connect(stream: ServerDuplexStream<AgentMessage, MasterMessage>) {
      const session = new AgentSession(stream, deps.leadership, deps.log, deps.clock.now());
      const caller = grpcCaller(stream, deps.secure);
      // Messages are handled strictly in arrival order: a status must not be
      // applied before the Register that precedes it has been recorded.
      let queue: Promise<void> = Promise.resolve();
      stream.on('data', (msg: AgentMessage) => {
        queue = queue.then(() => handle(deps, session, caller, msg, stream)).catch((error) => {
          deps.log.warn({ err: error, agentId: session.agentId, peer: session.peer }, 'closing agent stream after error');
          // An 'error' event is how a grpc-js server stream ends with a status
          // (destroy() would drop the call without telling the agent why).
          if (session.open) stream.emit('error', toGrpcError(error));
          session.ended();
        });
      });
      const onEnd = () => {
        session.ended();
        deps.files?.sessionEnded(session);
        void queue.then(() => disconnected(deps, session));
      };
      stream.on('end', () => {
        onEnd();
        try {
          stream.end();
        } catch {
          // The transport already closed the call.
        }
      });
      stream.on('error', onEnd);
      stream.on('close', onEnd);
    },
  };
}

/** A standby's whole answer: where the leader is, then the end of the stream. */
function redirect(deps: AgentGatewayDeps, session: AgentSession, stream: ServerDuplexStream<AgentMessage, MasterMessage>): void {
  const leader = deps.leadership.leaderAddress;
  deps.log.debug({ peer: session.peer, leader }, 'standby: sending an agent to the leader');
  // Epoch 0, whatever the leadership says: NotLeader commands nothing, and
  // a fresh agent would keep any epoch it carried as the highest it has seen.
  if (session.open) stream.write({ epoch: 0, message: { $case: 'notLeader', value: { leaderAddress: leader } } });
  session.ended();
  stream.end();
}

async function handle(
  deps: AgentGatewayDeps,
  session: AgentSession,
  caller: Caller,
  msg: AgentMessage,
  stream: ServerDuplexStream<AgentMessage, MasterMessage>,
): Promise<void> {
  const body = msg.message;
  if (!body) return;
  const now = deps.clock.now();
  session.heard(now);
  if (session.agentId === undefined) {
    if (!deps.leadership.isLeader) {
      // Once: what the agent sends before it reads NotLeader is dropped.
      if (session.open) redirect(deps, session, stream);
      return;
    }
    if (body.$case !== 'register') {
      throw new DroverError(`the first message must be register, got ${body.$case}`, Code.FailedPrecondition);
    }
    const outcome = await deps.registration.register(body.value, caller, session);
    // Before attach: the agent is placed on from the moment it is connected.
    deps.sessions.recordPortsInUse(outcome.agentId, body.value.portsInUse);
    deps.sessions.attach(outcome.agentId, session, deps.clock.now());
    session.send({
      $case: 'registered',
      value: { agentId: outcome.agentId, heartbeatIntervalMs: deps.heartbeatIntervalMs, agentSecret: outcome.secret ?? '' },
    });
    session.startPinging(deps.heartbeatIntervalMs);
    deps.registration.followUp(outcome);
    return;
  }
  const agentId = session.agentId;
  deps.sessions.seen(agentId, now);
  switch (body.$case) {
    case 'register':
      throw new DroverError('register sent twice on one stream', Code.FailedPrecondition);
    case 'status': {
      const status = body.value;
      await deps.statuses.handle(agentId, status);
      session.send({ $case: 'ack', value: { uuid: status.uuid, taskId: status.taskId } });
      return;
    }
    case 'usage':
      deps.sessions.recordUsage(agentId, body.value);
      return;
    case 'pong':
      return;
    case 'fileResponse':
      deps.files?.deliver(agentId, body.value);
      return;
  }
}

async function disconnected(deps: AgentGatewayDeps, session: AgentSession): Promise<void> {
  const agentId = session.agentId;
  if (agentId === undefined || !deps.sessions.detach(agentId, session)) return;
  const agent = deps.state.agent(agentId);
  if (!agent || agent.state !== 'ACTIVE') return;
  deps.log.info({ agentId, hostname: agent.hostname }, 'agent disconnected');
  await deps.state.putAgent({ ...agent, state: 'DISCONNECTED', lastSeenAt: deps.sessions.lastSeenAt(agentId) ?? agent.lastSeenAt });
}
