// @drover/master: the control plane. startMaster is the entry point.
export * from './master-options.js';
export { startMaster, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, DEFAULT_AGENT_LOST_TIMEOUT_MS } from './master.js';
export type { Store, StoredState, Mutation } from './store/store.js';
export { SqliteStore } from './store/sqlite-store.js';
<<<<<<< HEAD
export { ETCD_MEMBER_FLAGS } from './store/etcd-limits.js';
=======
export { EtcdStore, type EtcdStoreOptions, DEFAULT_ETCD_PREFIX } from './store/etcd-store.js';
export { ETCD_MEMBER_FLAGS } from './store/etcd-limits.js';
export { EtcdLeadership, type EtcdLeadershipOptions } from './leadership/etcd-leadership.js';
>>>>>>> issue12-store
