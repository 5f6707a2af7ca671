/**
 * Where the master's state lives. The embedded default is SQLite in the
 * data dir; an etcd store implements the same interface for HA.
 *
 * A store only persists: the master keeps the working copy in memory and
 * sends every change here as a batch. `commit` resolves only once the batch
 * is durable, and callers acknowledge nothing (API answers, status acks,
 * launches) before that.
 */
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../state/records.js';

/** One change to persist. */
export type Mutation =
  | { readonly kind: 'putApp'; readonly app: AppRecord }
  | { readonly kind: 'deleteApp'; readonly id: string }
  | { readonly kind: 'putTask'; readonly task: TaskRecord }
  | { readonly kind: 'deleteTask'; readonly id: string }
  | { readonly kind: 'putAgent'; readonly agent: AgentRecord }
  | { readonly kind: 'putVersion'; readonly version: VersionRecord }
  | { readonly kind: 'deleteVersion'; readonly appId: string; readonly version: string }
  | { readonly kind: 'putDeployment'; readonly deployment: DeploymentRecord }
  | { readonly kind: 'deleteDeployment'; readonly id: string };

/** Everything a master needs to resume. */
export interface StoredState {
  /**
   * The shape the records were written in (see STORE_FORMAT in
   * state/stored-state-upgrade.ts); 0 for a store written before formats
   * were recorded.
   */
  readonly format: number;
  readonly apps: readonly AppRecord[];
  readonly tasks: readonly TaskRecord[];
  readonly agents: readonly AgentRecord[];
  readonly versions: readonly VersionRecord[];
  readonly deployments: readonly DeploymentRecord[];
}

/** A durable home for apps, tasks and agents. */
export interface Store {
  /** "sqlite" or "etcd", for Cluster.Info. */
  readonly kind: string;
  /** Reads the whole state (once, at start). */
  load(): Promise<StoredState>;
  /**
   * Starts a new generation and returns it: a number larger than any this
   * store returned before, and at least `atLeast` (a master that learns of a
   * higher epoch from agents moves past it). The master uses it as its epoch.
   */
  nextGeneration(atLeast?: number): Promise<number>;
  /** Applies the mutations atomically and durably. */
  commit(mutations: readonly Mutation[]): Promise<void>;
  /** Applies the mutations of an upgrade and records the new format, atomically and durably. */
  upgrade(mutations: readonly Mutation[], format: number): Promise<void>;
  /** Releases the store. */
  close(): Promise<void>;
}
