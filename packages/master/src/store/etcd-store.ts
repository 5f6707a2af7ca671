/**
 * The Store on etcd, for HA masters: every master reads and writes the same
 * state, one key per record (etcd-keys.ts), encoded as SQLite encodes it
 * (record-codec.ts).
 *
 * Durable: etcd answers a write once the Raft log holding it is committed,
 * i.e. fsynced on a quorum of members.
 *
 * Ordered and batched: calls queue and run one at a time, in call order.
 * Commits that queued behind a running one are merged into a single
 * transaction (the group commit SQLite gets from its worker thread), the
 * later mutation of a key winning, and each caller is resolved once that
 * transaction is committed. One batch is one transaction, always: a batch
 * is never split (see etcd-limits.ts for the limits that requires).
 *
 * Fenced: a write with a term is `If(value(meta/term) == term)`, and once
 * leadership handed over the leader key (useLeaderKey), every write also
 * carries `If(createRevision(leaderKey) == rev)`: a leader whose lease
 * expired cannot write a single key, even before a successor began a new
 * term. A refused transaction wrote nothing and rejects with
 * StoreFencedError.
 *
 * etcd trouble: every call has a deadline (etcd-calls.ts). A write that
 * failed without reaching etcd rejects with Unavailable and the store goes
 * on. A write that timed out, or lost its connection, may still be applied
 * by etcd later (a Raft proposal outlives the request that made it), and
 * after a later batch if the store went on; so it rejects with
 * EtcdUnknownOutcomeError (Unavailable) and the store takes no more writes.
 * The master stops on the rejection (fail-stop), and a restarted master
 * reloads whatever etcd really holds.
 */
import type { ICompare, IKeyValue, IRequestOp, ITxnResponse } from 'etcd3';
import { GRPCInvalidArgumentError, GRPCResourceExhastedError } from 'etcd3';
import { Code, DroverError } from '@drover/common';
import type { Mutation } from '../model/mutation.js';
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../model/records.js';
import { EtcdCalls, EtcdUnknownOutcomeError, connectEtcd } from './etcd-calls.js';
import { EtcdKeys, type RecordKind, prefixEnd } from './etcd-keys.js';
import { BatchTooLargeError, ETCD_MAX_REQUEST_BYTES, ETCD_MAX_TXN_OPS, EtcdLimitError, PROBE_TXN_OPS } from './etcd-limits.js';
import { decodeRecord, encodeRecord, recordOf } from './record-codec.js';
import { type Fence, type Store, StoreFencedError, type StoredState } from './store.js';

/** The key prefix a store uses unless told otherwise. */
export const DEFAULT_ETCD_PREFIX = '/drover';
/** Keys read per range request while loading. */
/**
 * Keys read per range request while loading: 100,000 tasks in 20 round
 * trips (1,000 a page took half as long again). A page larger than the
 * client takes (64 MiB: 5,000 records of 13 KiB) is read again in halves.
 */
const LOAD_PAGE = 5_000;
/** Room left in a transaction for the compares and meta writes around the records. */
const TXN_OVERHEAD_OPS = 8;
const TXN_OVERHEAD_BYTES = 64 * 1024;
/** What one operation adds to a request beyond its key and value (protobuf framing). */
const OP_FRAMING_BYTES = 16;

/** How to open an etcd store. */
export interface EtcdStoreOptions {
  /** Client URLs of the members (http://host:2379). */
  readonly endpoints: readonly string[];
  /** Where the state lives; default /drover. */
  readonly prefix?: string;
  /** How long one etcd call may take; default 5 s. */
  readonly requestTimeoutMs?: number;
  /** The largest reply the client takes; default 64 MiB (a larger page of records is read again in halves). */
  readonly maxReplyBytes?: number;
}

/** The election key whose existence fences every write (see the top of the file). */
export interface LeaderKey {
  readonly key: string;
  /** The key's create revision, as etcd reports it (a decimal string). */
  readonly createRevision: string;
}

/** One batch, encoded: key → value, or null to delete. */
type Encoded = Map<string, Buffer | null>;

type Job =
  | { readonly kind: 'commit'; readonly batch: Encoded; readonly bytes: number; readonly fence: Fence | undefined; readonly done: Settle<void> }
  | { readonly kind: 'upgrade'; readonly batch: Encoded; readonly format: number; readonly done: Settle<void> }
  | { readonly kind: 'generation'; readonly atLeast: number; readonly term: number | undefined; readonly done: Settle<number> }
  | { readonly kind: 'load'; readonly done: Settle<StoredState> };

interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Store on etcd. */
export class EtcdStore implements Store {
  readonly kind = 'etcd';
  private readonly keys: EtcdKeys;
  private readonly queue: Job[] = [];
  private running: Promise<void> = Promise.resolve();
  private draining = false;
  private leader: LeaderKey | undefined;
  /** Set after a write of unknown outcome, or once leadership is lost: every later write fails with it. */
  private broken: DroverError | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  /**
   * Connects to the members and checks that they allow Drover's
   * transactions (EtcdLimitError names the flags otherwise). Creates
   * nothing: an empty prefix is a new cluster's state.
   */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const client = connectEtcd(options.endpoints, options.requestTimeoutMs, options.maxReplyBytes);
    const store = new EtcdStore(new EtcdCalls(client, options.endpoints, options.requestTimeoutMs), options.prefix ?? DEFAULT_ETCD_PREFIX);
    try {
      await store.checkLimits();
    } catch (error) {
      client.close();
      throw error;
    }
    return store;
  }

  private constructor(
    /** Calls to the store's etcd (leadership campaigns on the same connection). */
    readonly calls: EtcdCalls,
    prefix: string,
  ) {
    this.keys = new EtcdKeys(prefix.replace(/\/+$/, ''));
  }

  /** The members' client URLs. */
  get endpoints(): readonly string[] {
    return this.calls.endpoints;
  }

  /** The key prefix the state lives under (leadership keys live beside it). */
  get prefix(): string {
    return this.keys.prefix;
  }

  /** The last generation handed out (the leader's epoch), read now; 0 for a new store. */
  async currentGeneration(): Promise<number> {
    const res = await this.calls.read((options) => this.calls.client.kv.range({ key: Buffer.from(this.keys.meta('generation')) }, options));
    return Number(res.kvs[0]?.value.toString() ?? 0);
  }

  /**
   * From now on every write also requires `leader` to exist with its
   * create revision (undefined: no longer). EtcdLeadership calls it when
   * elected, before it starts its term.
   */
  useLeaderKey(leader: LeaderKey | undefined): void {
    this.leader = leader;
  }

  /**
   * Refuses every later write with `error`: leadership calls it when it
   * steps down by its own clock, before etcd may have noticed (the leader
   * key can outlive this master's belief that it leads by a moment).
   */
  refuseWrites(error: StoreFencedError): void {
    this.broken ??= error;
  }

  load(): Promise<StoredState> {
    return this.enqueue<StoredState>((done) => ({ kind: 'load', done }));
  }

  nextGeneration(atLeast = 0, term?: number): Promise<number> {
    return this.enqueue<number>((done) => ({ kind: 'generation', atLeast, term, done }));
  }

  async commit(mutations: readonly Mutation[], fence?: Fence): Promise<void> {
    if (mutations.length === 0 && fence === undefined) return;
    // Encoded now, so a record that cannot be encoded rejects its own batch
    // and nothing else, before anything is sent.
    const { batch, bytes } = this.encode(mutations);
    return this.enqueue<void>((done) => ({ kind: 'commit', batch, bytes, fence, done }));
  }

  async upgrade(mutations: readonly Mutation[], format: number): Promise<void> {
    const { batch } = this.encode(mutations);
    return this.enqueue<void>((done) => ({ kind: 'upgrade', batch, format, done }));
  }

  close(): Promise<void> {
    this.closed = true;
    // Jobs queued before close still run: the queue drains, then the client goes.
    this.closing ??= this.running.then(() => this.calls.client.close());
    return this.closing;
  }

  private encode(mutations: readonly Mutation[]): { batch: Encoded; bytes: number } {
    const batch: Encoded = new Map();
    for (const m of mutations) {
      const record = recordOf(m);
      const key = this.keys.of(m);
      // Deleting first keeps the map in the order of the last mutation of each key.
      batch.delete(key);
      batch.set(key, record === undefined ? null : Buffer.from(encodeRecord(record)));
    }
    const bytes = sizeOf(batch);
    if (batch.size > ETCD_MAX_TXN_OPS - TXN_OVERHEAD_OPS || bytes > ETCD_MAX_REQUEST_BYTES - TXN_OVERHEAD_BYTES) throw new BatchTooLargeError(batch.size, bytes);
    return { batch, bytes };
  }

  private enqueue<T>(job: (done: Settle<T>) => Job): Promise<T> {
    if (this.closed) return Promise.reject(new DroverError('the etcd store is closed', Code.FailedPrecondition));
    return new Promise<T>((resolve, reject) => {
      this.queue.push(job({ resolve, reject }));
      if (!this.draining) {
        this.draining = true;
        this.running = this.drain();
      }
    });
  }

  /**
   * Runs the queued jobs one at a time. `draining` drops in the same turn as
   * the queue is found empty, so a job queued at any time is run. No job
   * throws: each settles its own callers.
   */
  private async drain(): Promise<void> {
    for (;;) {
      const job = this.queue.shift();
      if (job === undefined) {
        this.draining = false;
        return;
      }
      switch (job.kind) {
        case 'commit':
          await this.runCommits([job, ...this.takeMergeable(job)]);
          break;
        case 'upgrade':
          await settle(job.done, () => this.runUpgrade(job.batch, job.format));
          break;
        case 'generation':
          await settle(job.done, () => this.runNextGeneration(job.atLeast, job.term));
          break;
        case 'load':
          await settle(job.done, () => this.runLoad());
          break;
      }
    }
  }

  /** The commits queued right behind `first` with the same fence, as many as fit in one transaction with it. */
  private takeMergeable(first: Extract<Job, { kind: 'commit' }>): Extract<Job, { kind: 'commit' }>[] {
    const merged: Extract<Job, { kind: 'commit' }>[] = [];
    let ops = first.batch.size;
    let bytes = first.bytes;
    for (;;) {
      const next = this.queue[0];
      if (next?.kind !== 'commit' || next.fence?.term !== first.fence?.term) break;
      if (ops + next.batch.size > ETCD_MAX_TXN_OPS - TXN_OVERHEAD_OPS || bytes + next.bytes > ETCD_MAX_REQUEST_BYTES - TXN_OVERHEAD_BYTES) break;
      ops += next.batch.size;
      bytes += next.bytes;
      merged.push(next);
      this.queue.shift();
    }
    return merged;
  }

  private async runCommits(jobs: readonly Extract<Job, { kind: 'commit' }>[]): Promise<void> {
    const batch: Encoded = new Map();
    for (const job of jobs) {
      for (const [key, value] of job.batch) {
        batch.delete(key);
        batch.set(key, value);
      }
    }
    const fence = jobs[0]?.fence;
    try {
      await this.write(batch, fence?.term, []);
      for (const job of jobs) job.done.resolve();
    } catch (error) {
      for (const job of jobs) job.done.reject(error);
    }
  }

  private async runUpgrade(batch: Encoded, format: number): Promise<void> {
    await this.write(batch, undefined, [put(this.keys.meta('format'), String(format))]);
  }

  /**
   * One transaction: the batch and `extra`, if the term (when given) and the
   * leader key (when set) still hold. Throws StoreFencedError when they do
   * not.
   */
  private async write(batch: Encoded, term: number | undefined, extra: readonly IRequestOp[]): Promise<void> {
    const success: IRequestOp[] = [...extra];
    for (const [key, value] of batch) success.push(value === null ? { request_delete_range: { key: Buffer.from(key) } } : { request_put: { key: Buffer.from(key), value } });
    const response = await this.transact(this.fenceCompares(term), success, sizeOf(batch));
    if (!response.succeeded) throw this.fencedError(response, term);
  }

  private async runNextGeneration(atLeast: number, term: number | undefined): Promise<number> {
    const generationKey = this.keys.meta('generation');
    for (;;) {
      const current = await this.calls.read((options) => this.calls.client.kv.range({ key: Buffer.from(generationKey) }, options));
      const kv = current.kvs[0];
      const next = Math.max(Number(kv?.value.toString() ?? 0) + 1, atLeast);
      const compares: ICompare[] = [{ key: Buffer.from(generationKey), target: 'Mod', result: 'Equal', mod_revision: kv?.mod_revision ?? 0 }, ...this.fenceCompares(term)];
      const success = [put(generationKey, String(next))];
      if (term === undefined) success.push(put(this.keys.meta('term'), String(next)));
      const response = await this.transact(compares, success, 64);
      if (response.succeeded) return next;
      const fenced = this.fencedError(response, term, false);
      if (fenced !== undefined) throw fenced;
      // Another store handle took a generation meanwhile: read it again.
    }
  }

  private fenceCompares(term: number | undefined): ICompare[] {
    const compares: ICompare[] = [];
    if (term !== undefined) compares.push({ key: Buffer.from(this.keys.meta('term')), target: 'Value', result: 'Equal', value: Buffer.from(String(term)) });
    if (this.leader !== undefined) compares.push({ key: Buffer.from(this.leader.key), target: 'Create', result: 'Equal', create_revision: this.leader.createRevision });
    return compares;
  }

  /** Runs a write transaction whose failure branch reads the term and the leader key (for fencedError). */
  private async transact(compare: ICompare[], success: IRequestOp[], bytes: number): Promise<ITxnResponse> {
    if (this.broken) throw this.broken;
    const failure: IRequestOp[] = [{ request_range: { key: Buffer.from(this.keys.meta('term')) } }];
    if (this.leader !== undefined) failure.push({ request_range: { key: Buffer.from(this.leader.key) } });
    try {
      return await this.calls.write((options) => this.calls.client.kv.txn({ compare, success, failure }, options), bytes);
    } catch (error) {
      if (error instanceof EtcdUnknownOutcomeError) this.broken = error;
      // etcd refuses a transaction over its limits before applying anything.
      if (error instanceof GRPCInvalidArgumentError || error instanceof GRPCResourceExhastedError) throw new EtcdLimitError(this.endpoints, success.length, bytes, error);
      throw error;
    }
  }

  /**
   * Why a fenced transaction was refused, from its failure branch. With
   * `always` false, undefined when neither the term nor the leader key was
   * the reason (another compare failed).
   */
  private fencedError(response: ITxnResponse, term: number | undefined, always?: true): StoreFencedError;
  private fencedError(response: ITxnResponse, term: number | undefined, always: false): StoreFencedError | undefined;
  private fencedError(response: ITxnResponse, term: number | undefined, always = true): StoreFencedError | undefined {
    const [termRange, leaderRange] = response.responses.map((r) => r.response_range);
    const currentTerm = Number(termRange?.kvs[0]?.value.toString() ?? 0);
    const ownTerm = term ?? currentTerm;
    if (term !== undefined && currentTerm !== term) return new StoreFencedError(term, currentTerm);
    const leader = this.leader;
    if (leader !== undefined && leaderRange?.kvs[0]?.create_revision !== leader.createRevision) {
      return new StoreFencedError(
        ownTerm,
        currentTerm,
        `write refused: this master's leader key ${leader.key} (created at revision ${leader.createRevision}) is gone, so its leadership (term ${ownTerm}) is over`,
      );
    }
    return always ? new StoreFencedError(ownTerm, currentTerm, `write refused in term ${ownTerm}: a condition of the transaction did not hold`) : undefined;
  }

  /** Reads everything at one revision, each kind in pages. */
  private async runLoad(): Promise<StoredState> {
    const first = await this.calls.read((options) => this.calls.client.kv.range({ key: Buffer.from(this.keys.meta('format')) }, options));
    const revision = first.header.revision;
    const format = first.kvs[0] !== undefined ? Number(first.kvs[0].value.toString()) : 0;
    const [apps, versions, deployments, tasks, agents] = await Promise.all([
      this.readKind<AppRecord>('apps', revision),
      this.readKind<VersionRecord>('versions', revision),
      this.readKind<DeploymentRecord>('deployments', revision),
      this.readKind<TaskRecord>('tasks', revision),
      this.readKind<AgentRecord>('agents', revision),
    ]);
    return { format, apps, tasks, agents, versions, deployments };
  }

  private async readKind<T>(kind: RecordKind, revision: string): Promise<T[]> {
    const prefix = this.keys.kind(kind);
    const end = prefixEnd(prefix);
    const records: T[] = [];
    let from = Buffer.from(prefix);
    let limit = LOAD_PAGE;
    for (;;) {
      const key = from;
      const page = await this.calls
        .read((options) => this.calls.client.kv.range({ key, range_end: end, limit, revision }, options))
        .catch((error: unknown) => {
          if (!(error instanceof GRPCResourceExhastedError) || limit === 1) throw error;
          limit = Math.ceil(limit / 2);
          return undefined;
        });
      if (page === undefined) continue;
      for (const kv of page.kvs) records.push(decodeRecord<T>(kv.value.toString()));
      const last: IKeyValue | undefined = page.kvs[page.kvs.length - 1];
      if (!page.more || last === undefined) return records;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** Refuses to run on members with etcd's default transaction limit (see etcd-limits.ts). */
  private async checkLimits(): Promise<void> {
    const key = Buffer.from(this.keys.meta('format'));
    const success: IRequestOp[] = Array.from({ length: PROBE_TXN_OPS }, () => ({ request_range: { key, keys_only: true } }));
    try {
      await this.calls.read((options) => this.calls.client.kv.txn({ compare: [], success, failure: [] }, options));
    } catch (error) {
      if (error instanceof GRPCInvalidArgumentError) throw new EtcdLimitError(this.endpoints, PROBE_TXN_OPS, 0, error);
      throw error;
    }
  }
}

function put(key: string, value: string): IRequestOp {
  return { request_put: { key: Buffer.from(key), value: Buffer.from(value) } };
}

function sizeOf(batch: Encoded): number {
  let bytes = 0;
  for (const [key, value] of batch) bytes += Buffer.byteLength(key) + (value?.length ?? 0) + OP_FRAMING_BYTES;
  return bytes;
}

async function settle<T>(done: Settle<T>, work: () => Promise<T>): Promise<void> {
  try {
    done.resolve(await work());
  } catch (error) {
    done.reject(error);
  }
}
