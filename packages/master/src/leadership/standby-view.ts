/**
 * What an HA master's standby servers see of the leadership: never the
 * leader. A standby holds no state, so from the moment this master is
 * elected until its leader servers replace the standby ones (a few hundred
 * milliseconds of loading), those must go on refusing and redirecting
 * rather than serve an empty state as if it were the cluster's: while
 * elected, they say no leader is known yet, and clients retry.
 */
import type { Fence } from '../store/store.js';
import type { Leadership, LeadershipState, MasterAddresses, MasterInfo } from './leadership.js';

/** The current leadership (`current()`; an HA master takes a new one for each campaign) as a standby's servers must see it. */
export class StandbyView implements Leadership {
  readonly isLeader = false;
  readonly epoch = 0;
  private readonly listeners = new Set<(state: LeadershipState) => void>();

  constructor(private readonly current: () => Leadership) {}

  private get inner(): Leadership {
    return this.current();
  }

  /** Tells listeners that what the current leadership says changed (the HA master calls it on every change of any). */
  changed(): void {
    const state: LeadershipState = { isLeader: false, epoch: 0, leaderAddress: this.leaderAddress, leaderHttpAddress: this.leaderHttpAddress };
    for (const listener of [...this.listeners]) listener(state);
  }

  get leaderAddress(): string {
    return this.inner.isLeader ? '' : this.inner.leaderAddress;
  }

  get leaderHttpAddress(): string {
    return this.inner.isLeader ? '' : this.inner.leaderHttpAddress;
  }

  get term(): number {
    return 0;
  }

  get fence(): Fence {
    // No term: the standby's state is empty and writes nothing; were it to
    // try, the etcd store refuses a term that is not the current one.
    return { term: 0 };
  }

  raiseEpochAbove(): Promise<number> {
    return Promise.reject(new Error('a standby has no epoch to raise'));
  }

  advertise(self: MasterAddresses): void {
    this.inner.advertise(self);
  }

  masters(): Promise<readonly MasterInfo[]> {
    return this.inner.masters();
  }

  onChange(listener: (state: LeadershipState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
