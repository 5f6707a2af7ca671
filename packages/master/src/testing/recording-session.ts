/**
 * An agent session over a stream that records what the master sends, for
 * tests that drive the master's components without gRPC.
 */
import { silentLogger } from '@drover/common';
import type { AgentMessage, MasterMessage } from '@drover/proto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { EpochSource } from '../leadership/leadership.js';
import { AgentSession, type MasterCommand } from '../sessions/agent-session.js';

/** A session and the messages sent on it. */
export interface RecordingSession {
  readonly session: AgentSession;
  /** Every message sent, with its epoch. */
  readonly sent: MasterMessage[];
  /** The commands sent, without epochs. */
  commands(): MasterCommand[];
  /** Ends the stream, as a disconnect would. */
  end(): void;
}

/** A new open session named `peer`; messages are stamped with `epoch`'s epoch (1 by default). */
export function recordingSession(peer: string, epoch: EpochSource = { epoch: 1 }, openedAt = Date.now()): RecordingSession {
  const sent: MasterMessage[] = [];
  const stream = {
    destroyed: false,
    writable: true,
    write: (m: MasterMessage) => {
      sent.push(m);
      return true;
    },
    end: () => {
      stream.destroyed = true;
    },
    getPeer: () => peer,
  };
  const session = new AgentSession(stream as unknown as ServerDuplexStream<AgentMessage, MasterMessage>, epoch, silentLogger(), openedAt);
  return {
    session,
    sent,
    commands: () => sent.flatMap((m) => (m.message ? [m.message] : [])),
    end: () => stream.end(),
  };
}
