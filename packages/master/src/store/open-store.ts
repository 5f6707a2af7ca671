/**
 * Choosing the store at start-up. The master talks to its state only
 * through the Store port; which implementation serves it is decided here,
 * once, from the master's options.
 */
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** Which store to open, and its settings. etcd (for HA masters) is planned. */
export type StoreConfig = {
  readonly kind: 'sqlite';
  /** The master's data dir (the SQLite file lives in it). */
  readonly dataDir: string;
  /** See SqliteStoreOptions.forceNewCluster. */
  readonly forceNewCluster?: boolean;
};

/** Opens the configured store. */
export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return SqliteStore.open(config.dataDir, { forceNewCluster: config.forceNewCluster });
  }
}
