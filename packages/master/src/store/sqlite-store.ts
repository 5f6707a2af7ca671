/**
 * The embedded Store: SQLite in the master's data dir (sqlite-database.ts),
 * driven from a worker thread (sqlite-worker.ts).
 *
 * Why a thread: better-sqlite3 is synchronous, and a durable commit waits
 * for fsync. On the event loop every batch stalled gRPC, acks and
 * reconciling for as long as the disk took. Here the event loop only posts
 * the batch and goes on; the batch's promise resolves when the worker has
 * committed it (synchronous=FULL, as before), so durability is unchanged:
 * nothing is acknowledged before its batch is on disk. Meanwhile the master
 * keeps applying changes in memory and gathers them into the next batch
 * (group commit, state/cluster-state.ts), so a slow disk makes batches
 * larger rather than the master slower.
 *
 * Requests are answered in the order they were sent (one connection, one
 * thread), which is the ordering the Store port promises. If the worker
 * dies, every request in flight and every later one rejects, and the master
 * stops (fail-stop).
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Code, DroverError } from '@drover/common';
import type { Mutation } from '../model/mutation.js';
import type { SqliteEnvelope, SqliteFailure, SqliteReply, SqliteRequest, SqliteResults } from './sqlite-protocol.js';
import { type Fence, type Store, StoreFencedError, type StoredState } from './store.js';

export { SQLITE_FILE } from './sqlite-database.js';

/** How to open the SQLite store. */
export interface SqliteStoreOptions {
  /**
   * Start a new cluster even though the data dir holds a store file without
   * usable state: the file (and its -wal/-shm) is renamed aside with a
   * timestamp, never deleted.
   */
  readonly forceNewCluster?: boolean;
}

/** The data dir holds a store file, but no state can be read from it. */
export class StoreStateMissingError extends DroverError {
  override name = 'StoreStateMissingError';
  constructor(
    /** The store file. */
    readonly file: string,
    /** What is wrong with it. */
    readonly problem: string,
    cause?: unknown,
  ) {
    super(
      `the state store ${file} exists but ${problem}. Refusing to start a new cluster over it: agents would ` +
        'find their tasks unknown to this master. Restore the file from a backup, or pass --force-new-cluster ' +
        'to move it aside and start afresh (agents keep their tasks; this master adopts them)',
      Code.FailedPrecondition,
      { cause },
    );
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** SQLite-backed Store, its I/O on a worker thread. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker is gone: every later request fails with it. */
  private dead: Error | undefined;
  private closing: Promise<void> | undefined;

  /**
   * Opens the store in `dataDir`, creating a new one only where there is no
   * store file (see sqlite-database.ts). Rejects with StoreStateMissingError
   * for a file without state unless options.forceNewCluster.
   */
  static async open(dataDir: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const store = new SqliteStore(startWorker());
    try {
      await store.request({ op: 'open', dataDir, forceNewCluster: options.forceNewCluster ?? false });
    } catch (error) {
      await store.worker.terminate();
      throw error;
    }
    return store;
  }

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: SqliteReply) => this.answer(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new DroverError(`the SQLite worker thread exited (code ${code})`, Code.Internal)));
    // Only requests in flight keep the process alive, as an open socket would.
    worker.unref();
  }

  load(): Promise<StoredState> {
    return this.request({ op: 'load' });
  }

  nextGeneration(atLeast = 0, term?: number): Promise<number> {
    return this.request({ op: 'nextGeneration', atLeast, term });
  }

  async commit(mutations: readonly Mutation[], fence?: Fence): Promise<void> {
    if (mutations.length === 0 && fence === undefined) return;
    await this.request({ op: 'commit', mutations, fence });
  }

  async upgrade(mutations: readonly Mutation[], format: number): Promise<void> {
    await this.request({ op: 'upgrade', mutations, format });
  }

  close(): Promise<void> {
    // Requests are answered in order: once close is, everything before it is done.
    this.closing ??= this.request({ op: 'close' })
      .catch(() => undefined)
      .then(async () => {
        await this.worker.terminate();
      });
    return this.closing;
  }

  private request<Op extends SqliteRequest['op']>(request: Extract<SqliteRequest, { op: Op }>): Promise<SqliteResults[Op]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<SqliteResults[Op]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, ...request } satisfies SqliteEnvelope);
    });
  }

  private answer(reply: SqliteReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(errorOf(reply.failure));
  }

  private fail(error: Error): void {
    this.dead ??= error;
    for (const waiter of this.pending.values()) waiter.reject(this.dead);
    this.pending.clear();
  }
}

/** The master's error for what went wrong in the worker. */
function errorOf(failure: SqliteFailure): Error {
  switch (failure.kind) {
    case 'state-missing':
      return new StoreStateMissingError(failure.file, failure.what, failure.cause);
    case 'fenced':
      return new StoreFencedError(failure.term, failure.currentTerm);
    case 'error': {
      const error = new DroverError(`SQLite store: ${failure.message}`, Code.Internal);
      if (failure.stack !== undefined) error.stack = failure.stack;
      return error;
    }
  }
}

/**
 * Starts the worker. Built, the worker is the compiled sqlite-worker.js
 * beside this file. From sources (tests run TypeScript directly), only
 * sqlite-worker.ts exists and a worker thread cannot load TypeScript by
 * itself, so a small bootstrap loads it through tsx (a dev dependency).
 */
function startWorker(): Worker {
  const compiled = new URL('./sqlite-worker.js', import.meta.url);
  if (fs.existsSync(compiled)) return new Worker(compiled);
  const source = new URL('./sqlite-worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(source)}, ${JSON.stringify(source)}))`, { eval: true });
}
