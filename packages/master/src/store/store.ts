/**
 * The Store port: where the master's state lives. The embedded default is
 * SQLite in the data dir (sqlite-store.ts); HA masters share an etcd
 * cluster (etcd-store.ts). The master picks one at start-up (open-store.ts) and every
 * implementation must pass the same suite (conformance/store-conformance.ts):
 * a store is done when it passes the suite, not when it compiles.
 *
 * A store only persists: the master keeps the working copy in memory
 * (state/cluster-state.ts) and sends every change here as a batch of
 * mutations, one per record (app, task, agent, version, deployment).
 *
 * Rules every implementation follows:
 * - Durable before resolved. `commit`, `upgrade` and `nextGeneration`
 *   resolve only once what they wrote survives a crash or power loss; the
 *   master acknowledges nothing (API answers, status acks, launches) before.
 * - Atomic. A batch is applied whole or not at all; a batch that fails
 *   leaves the store as it was and rejects.
 * - Ordered. Calls take effect in the order they were made, even while
 *   earlier ones are still in flight (the master pipelines batches).
 * - Generations only grow, across restarts and across masters.
 * - Fenced. A master works within a term: the generation it took when it
 *   started (`nextGeneration()` without a term, which starts a new one).
 *   Once another master has started a newer term, every write carrying the
 *   older term (`commit(..., { term })`, `nextGeneration(n, term)`) is
 *   refused with StoreFencedError and writes nothing, so a deposed leader
 *   that has not noticed yet cannot overwrite its successor's state. SQLite
 *   checks the term inside the write transaction; the etcd store makes
 *   each write a transaction conditional on the term and, once leadership
 *   gave it the leader key, on that key's create revision (etcd's election:
 *   If(leaderKey.createRevision == rev)). The master
 *   stops (fail-stop) when a write is refused. Two masters started on one
 *   SQLite file by mistake are fenced the same way.
 */
import { Code, DroverError } from '@drover/common';
import type { Mutation } from '../model/mutation.js';
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../model/records.js';

export type { Mutation } from '../model/mutation.js';

/** Everything a master needs to resume. */
export interface StoredState {
  /**
   * The shape the records were written in (see STORE_FORMAT in
   * stored-state-upgrade.ts); 0 for a store written before formats were
   * recorded.
   */
  readonly format: number;
  readonly apps: readonly AppRecord[];
  readonly tasks: readonly TaskRecord[];
  readonly agents: readonly AgentRecord[];
  readonly versions: readonly VersionRecord[];
  readonly deployments: readonly DeploymentRecord[];
}

/** The term a write is made in (see "Fenced" above). */
export interface Fence {
  /** The generation the writing master's term began with. */
  readonly term: number;
}

/** A durable home for apps, tasks, agents, versions and deployments. */
export interface Store {
  /** "sqlite" or "etcd", for Cluster.Info. */
  readonly kind: string;
  /** Reads the whole state (once, at start). */
  load(): Promise<StoredState>;
  /**
   * Takes a new generation and returns it: a number larger than any this
   * store returned before, and at least `atLeast` (a master that learns of a
   * higher epoch from agents moves past it). The master uses it as its
   * epoch. Without `term` it starts a new term (the returned generation is
   * the term); with `term` it raises the generation within that term, and
   * is refused (StoreFencedError) when a newer term has begun.
   */
  nextGeneration(atLeast?: number, term?: number): Promise<number>;
  /** Applies the mutations atomically and durably; with `fence`, only while its term is current. */
  commit(mutations: readonly Mutation[], fence?: Fence): Promise<void>;
  /** Applies the mutations of an upgrade and records the new format, atomically and durably. */
  upgrade(mutations: readonly Mutation[], format: number): Promise<void>;
  /** Waits for the writes in flight, then releases the store. */
  close(): Promise<void>;
}

/** A write was refused because a newer term has begun: this master is no longer the leader. */
export class StoreFencedError extends DroverError {
  override name = 'StoreFencedError';
  constructor(
    /** The term the write carried. */
    readonly term: number,
    /** The term the store is in. */
    readonly currentTerm: number,
    /** Why, when it is not a newer term (the etcd store: this master's leader key is gone). */
    reason?: string,
  ) {
    super(reason ?? `write refused: it belongs to term ${term}, but another master began term ${currentTerm}`, Code.FailedPrecondition);
  }
}
