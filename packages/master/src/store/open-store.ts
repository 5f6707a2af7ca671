/**
 * Choosing the store at start-up. The single master talks to its state only
 * through the Store port and opens it here. HA masters open their etcd store
 * themselves (ha-master.ts: one per campaign), so this module does not
 * import etcd-store.ts: a single master never loads the etcd client.
 */
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** Which store to open, and its settings. */
export type StoreConfig = {
  readonly kind: 'sqlite';
  /** The master's data dir (the SQLite file lives in it). */
  readonly dataDir: string;
  /** See SqliteStoreOptions.forceNewCluster. */
  readonly forceNewCluster?: boolean;
};

/** Opens the configured store. */
export async function openStore(config: StoreConfig): Promise<Store> {
  return SqliteStore.open(config.dataDir, { forceNewCluster: config.forceNewCluster });
}
