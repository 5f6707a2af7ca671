/**
 * The Leadership port: whether this master leads, since when, and the
 * numbers that fence what it does.
 *
 * - `epoch` is stamped on every command to agents. It only grows, agents
 *   refuse anything older than the highest they have seen, and a master
 *   raises it (raiseEpochAbove) past an epoch an agent reports that its own
 *   state does not account for (see agents/registration.ts).
 * - `term` is the epoch the master's leadership began with. Every write of
 *   the master's state carries it (`fence`), and a store refuses writes of a
 *   term that is over (see the Store port's "Fenced"), so a deposed leader
 *   that has not noticed yet cannot overwrite its successor's state.
 *
 * Implementations: SingleMasterLeadership (single-master-leadership.ts),
 * always the leader, its epoch kept in the store; EtcdLeadership
 * (etcd-leadership.ts), an election through an etcd lease whose leader key
 * fences the etcd store (a lost lease ends the term and fires `onChange`
 * with isLeader false, which stops the master).
 */
import type { Fence } from '../store/store.js';

/** What a leadership change says. */
export interface LeadershipState {
  /** True while this master leads. */
  readonly isLeader: boolean;
  /** The epoch to stamp now. */
  readonly epoch: number;
  /** The gRPC address (host:port) of the leading master; '' while unknown. */
  readonly leaderAddress: string;
  /** The HTTP address (host:port) of the leading master, where standbys proxy REST; '' while unknown. */
  readonly leaderHttpAddress: string;
}

/** Where clients reach one master. */
export interface MasterAddresses {
  /** host:port of its gRPC API (agents and clients). */
  readonly grpc: string;
  /** host:port of its HTTP API (REST, SSE, metrics). */
  readonly http: string;
}

/** One master of the cluster, as the leadership knows it. */
export interface MasterInfo extends MasterAddresses {
  /** True for the leader. */
  readonly isLeader: boolean;
  /** The leader's epoch; 0 for a standby. */
  readonly epoch: number;
}

/** Whether this master leads, and its epoch and term. */
export interface Leadership extends LeadershipState {
  /** The epoch this master's leadership began with. */
  readonly term: number;
  /** The fence every write of this master's state carries. */
  readonly fence: Fence;
  /** Makes the epoch larger than `seen` (no-op when it is); resolves with the epoch once durable. */
  raiseEpochAbove(seen: number): Promise<number>;
  /**
   * Records where this master is reached, once its servers are bound: what
   * it tells the others (and agents and clients, through them) when it
   * leads.
   */
  advertise(self: MasterAddresses): void;
  /** Every master taking part (leader and standbys), the leader first. */
  masters(): Promise<readonly MasterInfo[]>;
  /** Calls `listener` after every change (epoch raised, leader found or lost); returns an unsubscribe. */
  onChange(listener: (state: LeadershipState) => void): () => void;
}

/** Something that says which epoch to stamp now (what agent sessions need of Leadership). */
export type EpochSource = Pick<Leadership, 'epoch'>;
