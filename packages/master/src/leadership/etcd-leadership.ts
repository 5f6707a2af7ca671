/**
 * Leadership among several masters, elected through etcd, fenced in the
 * etcd store.
 *
 *   create ──advertise()──▶ campaign() ──▶ campaigning ──elected──▶ leading
 *                                             │  ▲                    │
 *                          lease lost: new    └──┘     lease lost,    │ resign(),
 *                          lease, campaign again       key gone ──────┴▶ deposed (final)
 *
 * Election (etcd's concurrency.Election, as etcd's Go client does it): each
 * master holds a lease (TTL ttlSeconds) and puts `<prefix>/leader/<lease
 * id>` with it, valued with its addresses; the key created first leads. It
 * also registers `<prefix>/masters/<id>` with the same lease, so masters()
 * lists the standbys too, and every master watches the leader keys, so a
 * standby always knows the leader's addresses. etcd3's own Election is not
 * used: its lease is private, so the registration could not share it, its
 * keepalives could not be timed (below), and its key's create revision (the
 * fence) is not exposed.
 *
 * Elected, a master gives the store its leader key (every write then
 * requires that key, with its create revision, to exist) and starts a term
 * in the store with nextGeneration(atLeast = that create revision): its
 * epoch and term are the generation, so they only grow across leaders and
 * are at least the revision that made it leader.
 *
 * Losing the lease ends leadership at once, by this master's own clock: the
 * etcd3 client reports a lost lease only after about two TTLs, but a
 * successor may be elected one TTL after the last renewal. LeaseClock keeps
 * when the lease surely still lives; at that moment a leader steps down
 * (isLeader false, the store refuses further writes) even if etcd3 has not
 * noticed. A deposed master does not campaign again: the master stops
 * (fail-stop) and a restarted one rejoins as a standby.
 *
 * Stepping down revokes the lease (etcd3's close() would leave its
 * keepalives running), which deletes both keys and lets a standby take over
 * without waiting for the TTL.
 */
import { randomUUID } from 'node:crypto';
import { Code, DroverError, type Logger, silentLogger } from '@drover/common';
import type { IKeyValue, Lease, Watcher } from 'etcd3';
import { prefixEnd } from '../store/etcd-keys.js';
import type { EtcdStore } from '../store/etcd-store.js';
import { type Fence, StoreFencedError } from '../store/store.js';
import type { Leadership, LeadershipState, MasterAddresses, MasterInfo } from './leadership.js';
import { LeaseClock } from './lease-clock.js';
import { MasterEpoch } from './master-epoch.js';

/** The lease TTL unless told otherwise. */
export const DEFAULT_LEADER_TTL_SECONDS = 2;
/** The longest pause between attempts to rejoin the election after a lost lease. */
const MAX_REJOIN_PAUSE_MS = 2_000;

/** How to take part in the election. */
export interface EtcdLeadershipOptions {
  /** The etcd store the master keeps its state in: the election runs on its etcd, beside its keys. */
  readonly store: EtcdStore;
  /** The lease TTL in seconds (etcd's minimum is 1); default 2. */
  readonly ttlSeconds?: number;
  /** This master's id under <prefix>/masters; default a random UUID. */
  readonly id?: string;
  readonly log?: Logger;
}

type Phase = 'idle' | 'campaigning' | 'leading' | 'deposed' | 'stopped';

/** One lease and the keys held with it. */
interface Session {
  readonly lease: Lease;
  readonly clock: LeaseClock;
  /** The leader key this session campaigns with. */
  readonly key: string;
  readonly createRevision: string;
  expiry?: NodeJS.Timeout;
}

/** What a leader key holds. */
interface LeaderValue extends MasterAddresses {
  readonly id: string;
}

/** Leadership elected through etcd; see the top of the file. */
export class EtcdLeadership implements Leadership {
  readonly id: string;
  private readonly store: EtcdStore;
  private readonly ttlMs: number;
  private readonly log: Logger;
  private phase: Phase = 'idle';
  private self: MasterAddresses = { grpc: '', http: '' };
  /** The leader as last read from etcd. */
  private leader: LeaderValue | undefined;
  private session: Session | undefined;
  private masterEpoch: MasterEpoch | undefined;
  private watcher: Watcher | undefined;
  /** Leader reads, one at a time. */
  private reading: Promise<void> = Promise.resolve();
  private elected: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private readonly listeners = new Set<(state: LeadershipState) => void>();
  private reported: LeadershipState;

  /** Prepares to take part; nothing happens in etcd before campaign(). */
  static create(options: EtcdLeadershipOptions): EtcdLeadership {
    return new EtcdLeadership(options);
  }

  private constructor(options: EtcdLeadershipOptions) {
    this.store = options.store;
    this.id = options.id ?? randomUUID();
    this.ttlMs = (options.ttlSeconds ?? DEFAULT_LEADER_TTL_SECONDS) * 1000;
    this.log = options.log ?? silentLogger();
    this.reported = this.state();
  }

  get isLeader(): boolean {
    return this.phase === 'leading';
  }

  /** While leading, the epoch to stamp; 0 otherwise. */
  get epoch(): number {
    return this.isLeader ? (this.masterEpoch?.current ?? 0) : 0;
  }

  /** The epoch this master's leadership began with; 0 before it led. */
  get term(): number {
    return this.masterEpoch?.atStart ?? 0;
  }

  get fence(): Fence {
    return { term: this.term };
  }

  get leaderAddress(): string {
    return this.isLeader ? this.self.grpc : (this.leader?.grpc ?? '');
  }

  get leaderHttpAddress(): string {
    return this.isLeader ? this.self.http : (this.leader?.http ?? '');
  }

  /**
   * Records this master's addresses. Called before campaign(), they are what
   * it campaigns with; called later, the keys it holds are updated.
   */
  advertise(self: MasterAddresses): void {
    if (self.grpc === this.self.grpc && self.http === this.self.http) return;
    this.self = { grpc: self.grpc, http: self.http };
    const session = this.session;
    if (session !== undefined) {
      this.publish(session).catch((error: unknown) => this.log.warn({ err: error }, 'could not update this master’s addresses in etcd'));
    }
    this.notify();
  }

  /**
   * Joins the election (after advertise()) and resolves once this master
   * leads; meanwhile it is a standby that knows the leader (onChange).
   * Rejects if it stops or is deposed first.
   */
  async campaign(): Promise<void> {
    if (this.phase !== 'idle') throw new DroverError(`campaign() called while ${this.phase}`, Code.FailedPrecondition);
    this.phase = 'campaigning';
    const elected = new Promise<void>((resolve, reject) => {
      this.elected = { resolve, reject };
    });
    try {
      await this.watchLeader();
      await this.join();
    } catch (error) {
      this.elected = undefined;
      await this.stop();
      throw error;
    }
    return elected;
  }

  async raiseEpochAbove(seen: number): Promise<number> {
    const epoch = this.masterEpoch;
    if (!this.isLeader || epoch === undefined) throw new DroverError(`this master does not lead (it is ${this.phase})`, Code.FailedPrecondition);
    const raised = await epoch.raiseAbove(seen);
    this.notify();
    return raised;
  }

  async masters(): Promise<readonly MasterInfo[]> {
    const prefix = `${this.store.prefix}/masters/`;
    const [registered, generation] = await Promise.all([this.store.calls.read((options) => this.store.calls.client.getAll().prefix(prefix).options(options).strings()), this.isLeader ? Promise.resolve(this.epoch) : this.store.currentGeneration()]);
    const leaderId = this.isLeader ? this.id : this.leader?.id;
    const all: MasterInfo[] = Object.entries(registered).map(([key, value]) => {
      const id = key.slice(prefix.length);
      const addresses = parseAddresses(value);
      return { grpc: addresses.grpc, http: addresses.http, isLeader: id === leaderId, epoch: id === leaderId ? generation : 0 };
    });
    return all.sort((a, b) => Number(b.isLeader) - Number(a.isLeader));
  }

  onChange(listener: (state: LeadershipState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Steps down (or out of the election): revokes the lease, so the keys go
   * and a standby takes over at once. A master that led is deposed.
   */
  async resign(): Promise<void> {
    if (this.phase === 'leading') this.depose('it resigned');
    else if (this.phase === 'campaigning') {
      this.phase = 'deposed';
      this.elected?.reject(new DroverError('resigned before it was elected', Code.Canceled));
      this.elected = undefined;
    }
    await this.endSession();
  }

  /** Resigns and stops watching. Call it before closing the store: it uses the store's connection. */
  async stop(): Promise<void> {
    await this.resign();
    this.phase = 'stopped';
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
    await this.reading;
  }

  /** Takes a lease and puts this master's keys with it, then looks whether it leads. */
  private async join(): Promise<void> {
    const grantSentAt = Date.now();
    const lease = this.store.calls.client.lease(this.ttlMs / 1000);
    try {
      await this.joinWith(lease, grantSentAt);
    } catch (error) {
      // Keepalives would otherwise run on for a lease nobody uses.
      lease.removeAllListeners();
      await lease.revoke().catch(() => undefined);
      throw error;
    }
    await this.refreshLeader();
  }

  private async joinWith(lease: Lease, grantSentAt: number): Promise<void> {
    const leaseId = await lease.grant();
    const key = `${this.store.prefix}/leader/${BigInt(leaseId).toString(16)}`;
    const value = Buffer.from(JSON.stringify({ id: this.id, ...this.self } satisfies LeaderValue));
    const res = await this.store.calls.write((options) =>
      this.store.calls.client.kv.txn(
        {
          compare: [{ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [
            { request_put: { key: Buffer.from(key), value, lease: leaseId } },
            { request_put: { key: Buffer.from(this.masterKey()), value: Buffer.from(JSON.stringify(this.self)), lease: leaseId } },
          ],
          failure: [],
        },
        options,
      ),
    );
    if (!res.succeeded) throw new DroverError(`leader key ${key} exists already`, Code.Internal);
    const session: Session = { lease, clock: new LeaseClock(this.ttlMs, grantSentAt), key, createRevision: res.header.revision };
    lease.on('keepaliveFired', () => session.clock.fired());
    lease.on('keepaliveEstablished', () => session.clock.restarted());
    lease.on('keepaliveSucceeded', () => {
      session.clock.answered();
      this.armExpiry(session);
    });
    lease.on('lost', (error) => this.sessionLost(session, `etcd ended the lease (${error.message})`));
    this.session = session;
    this.armExpiry(session);
    this.log.info({ key, revision: session.createRevision, id: this.id }, 'joined the master election');
  }

  /** Steps down when the lease may have expired, by this master's clock (see LeaseClock). */
  private armExpiry(session: Session): void {
    clearTimeout(session.expiry);
    session.expiry = setTimeout(() => {
      if (Date.now() >= session.clock.expiresAt) this.sessionLost(session, `its lease was not renewed for ${this.ttlMs} ms`);
      else this.armExpiry(session);
    }, Math.max(0, session.clock.expiresAt - Date.now()));
    session.expiry.unref();
  }

  private sessionLost(session: Session, reason: string): void {
    if (this.session !== session) return;
    if (this.phase === 'leading') {
      this.depose(reason);
      void this.endSession();
      return;
    }
    void this.endSession();
    if (this.phase === 'campaigning') {
      this.log.warn({ reason }, 'lost the election lease while standing by; joining again');
      void this.rejoin();
    }
  }

  /** Joins again after a lost lease, until it works or this master is no longer campaigning. */
  private async rejoin(): Promise<void> {
    let pause = 100;
    while (this.phase === 'campaigning' && this.session === undefined) {
      try {
        await this.join();
        return;
      } catch (error) {
        this.log.warn({ err: error }, 'could not join the master election; trying again');
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, MAX_REJOIN_PAUSE_MS);
      }
    }
  }

  /** Ends leadership for good: the store refuses further writes, listeners hear isLeader false. */
  private depose(reason: string): void {
    if (this.phase !== 'leading' && this.phase !== 'campaigning') return;
    const wasLeading = this.phase === 'leading';
    this.phase = 'deposed';
    this.store.refuseWrites(new StoreFencedError(this.term, this.term, `write refused: this master's leadership (term ${this.term}) ended: ${reason}`));
    this.elected?.reject(new DroverError(`left the election: ${reason}`, Code.Aborted));
    this.elected = undefined;
    if (wasLeading) this.log.error({ reason, term: this.term }, 'lost leadership');
    this.notify();
  }

  /** Revokes the session's lease (its keys go with it); best effort when etcd cannot be reached. */
  private async endSession(): Promise<void> {
    const session = this.session;
    if (session === undefined) return;
    this.session = undefined;
    clearTimeout(session.expiry);
    session.lease.removeAllListeners();
    // A lease that cannot be revoked now expires by itself within its TTL.
    await session.lease.revoke().catch((error: unknown) => this.log.warn({ err: error }, 'could not revoke the election lease'));
  }

  /** Watches the leader keys; every change is read again (readLeader). */
  private async watchLeader(): Promise<void> {
    const watcher = await this.store.calls.client.watch().prefix(`${this.store.prefix}/leader/`).create();
    this.watcher = watcher;
    const changed = () => void this.refreshLeader();
    watcher.on('put', changed).on('delete', changed).on('connected', changed);
    watcher.on('error', (error) => this.log.warn({ err: error }, 'watching the leader key failed'));
  }

  /** Reads the leader again, after every read before it (so that only one can find this master elected). */
  private refreshLeader(): Promise<void> {
    this.reading = this.reading.then(() => this.readLeader()).catch((error: unknown) => this.log.warn({ err: error }, 'could not read the leader from etcd'));
    return this.reading;
  }

  /** Reads which key leads (the oldest) and acts on it: elected, deposed, or a new leader to name. */
  private async readLeader(): Promise<void> {
    if (this.phase === 'stopped') return;
    const prefix = `${this.store.prefix}/leader/`;
    const res = await this.store.calls.read((options) =>
      this.store.calls.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix), sort_order: 'Ascend', sort_target: 'Create', limit: 1 }, options),
    );
    const first: IKeyValue | undefined = res.kvs[0];
    this.leader = first === undefined ? undefined : parseLeader(first.value.toString());
    const session = this.session;
    const mine = session !== undefined && first !== undefined && first.key.toString() === session.key && first.create_revision === session.createRevision;
    if (this.phase === 'leading' && !mine) this.depose('its leader key is gone');
    else if (this.phase === 'campaigning' && mine && session !== undefined) await this.lead(session);
    this.notify();
  }

  /** This master's key is the oldest: fence the store with it and start a term. */
  private async lead(session: Session): Promise<void> {
    this.store.useLeaderKey({ key: session.key, createRevision: session.createRevision });
    try {
      this.masterEpoch = await MasterEpoch.start(this.store, Number(session.createRevision));
    } catch (error) {
      this.log.error({ err: error }, 'elected, but could not start a term in the store');
      if (this.session === session) this.sessionLost(session, `could not start a term: ${(error as Error).message}`);
      return;
    }
    if (this.session !== session || this.phase !== 'campaigning') return;
    this.phase = 'leading';
    this.log.info({ term: this.term, revision: session.createRevision }, 'elected leader');
    this.notify();
    this.elected?.resolve();
    this.elected = undefined;
  }

  /** Writes this master's current addresses into the keys its session holds. */
  private async publish(session: Session): Promise<void> {
    const leaseId = await session.lease.grant();
    await this.store.calls.write((options) =>
      this.store.calls.client.kv.txn(
        {
          compare: [{ key: Buffer.from(session.key), target: 'Create', result: 'Equal', create_revision: session.createRevision }],
          success: [
            { request_put: { key: Buffer.from(session.key), value: Buffer.from(JSON.stringify({ id: this.id, ...this.self } satisfies LeaderValue)), lease: leaseId } },
            { request_put: { key: Buffer.from(this.masterKey()), value: Buffer.from(JSON.stringify(this.self)), lease: leaseId } },
          ],
          failure: [],
        },
        options,
      ),
    );
  }

  private masterKey(): string {
    return `${this.store.prefix}/masters/${encodeURIComponent(this.id)}`;
  }

  private state(): LeadershipState {
    return { isLeader: this.isLeader, epoch: this.epoch, leaderAddress: this.leaderAddress, leaderHttpAddress: this.leaderHttpAddress };
  }

  /** Tells listeners, once per change. */
  private notify(): void {
    const state = this.state();
    const last = this.reported;
    if (state.isLeader === last.isLeader && state.epoch === last.epoch && state.leaderAddress === last.leaderAddress && state.leaderHttpAddress === last.leaderHttpAddress) return;
    this.reported = state;
    for (const listener of [...this.listeners]) listener(state);
  }
}

function parseAddresses(value: string): MasterAddresses {
  try {
    const parsed = JSON.parse(value) as Partial<MasterAddresses>;
    return { grpc: String(parsed.grpc ?? ''), http: String(parsed.http ?? '') };
  } catch {
    return { grpc: '', http: '' };
  }
}

function parseLeader(value: string): LeaderValue {
  let id = '';
  try {
    id = String((JSON.parse(value) as Partial<LeaderValue>).id ?? '');
  } catch {
    // Not ours to understand: a leader without an id.
  }
  return { id, ...parseAddresses(value) };
}
