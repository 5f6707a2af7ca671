/**
 * Leadership for a master without standbys: it leads from the moment it
 * started a term in its store until it stops. Its epoch is the store
 * generation MasterEpoch keeps; the only change it ever reports is the
 * epoch being raised.
 */
import type { Fence } from '../store/store.js';
import type { Leadership, LeadershipState, MasterAddresses, MasterInfo } from './leadership.js';
import type { MasterEpoch } from './master-epoch.js';

/** Always the leader. */
export class SingleMasterLeadership implements Leadership {
  readonly isLeader = true;
  readonly fence: Fence;
  private address: MasterAddresses = { grpc: '', http: '' };
  /** The epoch the last change reported, so concurrent raises report once. */
  private reported: number;
  private readonly listeners = new Set<(state: LeadershipState) => void>();

  constructor(private readonly masterEpoch: MasterEpoch) {
    this.fence = { term: masterEpoch.atStart };
    this.reported = masterEpoch.current;
  }

  get epoch(): number {
    return this.masterEpoch.current;
  }

  get term(): number {
    return this.masterEpoch.atStart;
  }

  get leaderAddress(): string {
    return this.address.grpc;
  }

  get leaderHttpAddress(): string {
    return this.address.http;
  }

  /** Records this master's own addresses once its servers are bound: they are the leader's. */
  advertise(self: MasterAddresses): void {
    if (self.grpc === this.address.grpc && self.http === this.address.http) return;
    this.address = { grpc: self.grpc, http: self.http };
    this.notify();
  }

  async masters(): Promise<readonly MasterInfo[]> {
    return [{ ...this.address, isLeader: true, epoch: this.epoch }];
  }

  async raiseEpochAbove(seen: number): Promise<number> {
    const epoch = await this.masterEpoch.raiseAbove(seen);
    if (epoch !== this.reported) this.notify();
    return epoch;
  }

  onChange(listener: (state: LeadershipState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    this.reported = this.epoch;
    const state: LeadershipState = { isLeader: this.isLeader, epoch: this.epoch, leaderAddress: this.address.grpc, leaderHttpAddress: this.address.http };
    for (const listener of [...this.listeners]) listener(state);
  }
}
