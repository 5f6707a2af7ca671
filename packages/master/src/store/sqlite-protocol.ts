/**
 * The messages between SqliteStore (on the master's event loop) and its
 * worker thread (sqlite-worker.ts). Every request carries an id; the worker
 * answers each, in order, with the same id. Records cross as structured
 * clones; errors cross as plain descriptions the store turns back into the
 * master's error classes.
 */
import type { Mutation } from '../model/mutation.js';
import type { Fence, StoredState } from './store.js';

/** What the store asks the worker to do. */
export type SqliteRequest =
  | { readonly op: 'open'; readonly dataDir: string; readonly forceNewCluster: boolean }
  | { readonly op: 'load' }
  | { readonly op: 'nextGeneration'; readonly atLeast: number; readonly term: number | undefined }
  | { readonly op: 'commit'; readonly mutations: readonly Mutation[]; readonly fence: Fence | undefined }
  | { readonly op: 'upgrade'; readonly mutations: readonly Mutation[]; readonly format: number }
  | { readonly op: 'close' };

/** Why a request failed, as the worker saw it. */
export type SqliteFailure =
  | { readonly kind: 'state-missing'; readonly file: string; readonly what: string; readonly cause?: string }
  | { readonly kind: 'fenced'; readonly term: number; readonly currentTerm: number }
  | { readonly kind: 'error'; readonly message: string; readonly stack?: string };

/** What each request resolves with. */
export interface SqliteResults {
  open: undefined;
  load: StoredState;
  nextGeneration: number;
  commit: undefined;
  upgrade: undefined;
  close: undefined;
}

/** One message to the worker. */
export type SqliteEnvelope = { readonly id: number } & SqliteRequest;

/** One answer from the worker. */
export type SqliteReply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly failure: SqliteFailure };
