// @drover/master: the control plane. startMaster is the entry point.
export * from './master-options.js';
export { startMaster, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, DEFAULT_AGENT_LOST_TIMEOUT_MS } from './master.js';
export type { Store, StoredState, Mutation } from './store/store.js';
export { SqliteStore } from './store/sqlite-store.js';
// Types only: the etcd client loads with an HA master (master.ts), not with the package.
export type { EtcdStore, EtcdStoreOptions } from './store/etcd-store.js';
export type { EtcdLeadership, EtcdLeadershipOptions } from './leadership/etcd-leadership.js';
export { ETCD_MEMBER_FLAGS } from './store/etcd-limits.js';
