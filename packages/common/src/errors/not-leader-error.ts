import { Code } from './code.js';
import { DroverError } from './drover-error.js';

/**
 * A standby master refused a call: only the leader serves clients. Nothing
 * was executed, so a client may repeat the call at `leaderAddress` (or, when
 * the standby knows no leader, at another master). On the wire it is
 * UNAVAILABLE with the trailers `drover-standby: 1` and, when a leader is
 * known, `drover-leader: <host:port>` (grpc-status.ts), so clients in any
 * language can follow it without reading the message.
 */
export class NotLeaderError extends DroverError {
  override name = 'NotLeaderError';
  constructor(
    /** host:port of the leader's gRPC API; '' while the standby knows no leader. */
    readonly leaderAddress: string,
    /** What the standby calls itself in the message ("the master at h2:5053"), if it knows. */
    standby = 'this master',
    options: { cause?: unknown } = {},
  ) {
    super(
      leaderAddress === ''
        ? `${standby} is a standby and knows no leader yet (an election may be under way, or the masters cannot reach a majority of their etcd members): retry shortly`
        : `${standby} is a standby; the leader is ${leaderAddress}`,
      Code.Unavailable,
      options,
    );
  }
}
