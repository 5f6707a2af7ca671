/**
 * Choosing the store at start-up. The master talks to its state only
 * through the Store port; which implementation serves it is decided here,
 * once, from the master's options.
 */
import { DEFAULT_ETCD_PREFIX, EtcdStore } from './etcd-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** Which store to open, and its settings. */
export type StoreConfig =
  | {
      readonly kind: 'sqlite';
      /** The master's data dir (the SQLite file lives in it). */
      readonly dataDir: string;
      /** See SqliteStoreOptions.forceNewCluster. */
      readonly forceNewCluster?: boolean;
    }
  | {
      readonly kind: 'etcd';
      /** Client URLs of the etcd members (http://host:2379). */
      readonly endpoints: readonly string[];
      /** The key prefix the state lives under; default /drover. */
      readonly prefix?: string;
    };

/** Opens the configured store. */
export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return SqliteStore.open(config.dataDir, { forceNewCluster: config.forceNewCluster });
    case 'etcd':
      return EtcdStore.open({ endpoints: config.endpoints, prefix: config.prefix ?? DEFAULT_ETCD_PREFIX });
  }
}
