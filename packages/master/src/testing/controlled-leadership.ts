/**
 * A Leadership a test decides: this master leads or stands by, and as a
 * standby it knows the leader the test names (or none, as during an
 * election). It lets the real servers run as leader and standbys side by
 * side without an election; the etcd election is tested on its own.
 *
 * Usage: `startMaster({ ..., leadership: (epoch) => (l = new ControlledLeadership(epoch, false)) })`,
 * then `l.follow(leader)` and `l.knowMasters([...])`.
 */
import { Code, DroverError } from '@drover/common';
import type { Fence } from '../store/store.js';
import type { Leadership, LeadershipState, MasterAddresses, MasterInfo } from '../leadership/leadership.js';
import type { MasterEpoch } from '../leadership/master-epoch.js';

/** A leader as a standby knows it. */
export interface KnownLeader extends MasterAddresses {
  readonly epoch: number;
}

/** Leads, or follows the leader a test names. */
export class ControlledLeadership implements Leadership {
  readonly fence: Fence;
  private self: MasterAddresses = { grpc: '', http: '' };
  private leader: KnownLeader | undefined;
  private others: readonly MasterAddresses[] = [];
  private readonly listeners = new Set<(state: LeadershipState) => void>();

  constructor(
    private readonly masterEpoch: MasterEpoch,
    /** True for the leader; fixed for the life of the master (a real leader that loses leadership stops). */
    readonly isLeader: boolean,
  ) {
    this.fence = { term: masterEpoch.atStart };
  }

  /** A standby stamps nothing it could command with: 0. */
  get epoch(): number {
    return this.isLeader ? this.masterEpoch.current : 0;
  }

  get term(): number {
    return this.masterEpoch.atStart;
  }

  get leaderAddress(): string {
    return this.isLeader ? this.self.grpc : (this.leader?.grpc ?? '');
  }

  get leaderHttpAddress(): string {
    return this.isLeader ? this.self.http : (this.leader?.http ?? '');
  }

  /** A standby's view of who leads; undefined while it knows none. */
  follow(leader: KnownLeader | undefined): void {
    if (this.isLeader) throw new DroverError('the leader follows nobody', Code.FailedPrecondition);
    this.leader = leader;
    this.notify();
  }

  /** The other masters of the cluster, listed by masters(). */
  knowMasters(others: readonly MasterAddresses[]): void {
    this.others = others;
  }

  advertise(self: MasterAddresses): void {
    this.self = { grpc: self.grpc, http: self.http };
    this.notify();
  }

  async masters(): Promise<readonly MasterInfo[]> {
    const leader = this.isLeader ? { ...this.self, epoch: this.epoch } : this.leader;
    const all = [...this.others, this.self].filter((m, i, list) => list.findIndex((n) => n.grpc === m.grpc) === i);
    const infos = all.map((m) => ({ grpc: m.grpc, http: m.http, isLeader: m.grpc === leader?.grpc, epoch: m.grpc === leader?.grpc ? leader.epoch : 0 }));
    return [...infos.filter((m) => m.isLeader), ...infos.filter((m) => !m.isLeader)];
  }

  async raiseEpochAbove(seen: number): Promise<number> {
    if (!this.isLeader) return 0;
    const epoch = await this.masterEpoch.raiseAbove(seen);
    this.notify();
    return epoch;
  }

  onChange(listener: (state: LeadershipState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    const state: LeadershipState = { isLeader: this.isLeader, epoch: this.epoch, leaderAddress: this.leaderAddress, leaderHttpAddress: this.leaderHttpAddress };
    for (const listener of [...this.listeners]) listener(state);
  }
}
