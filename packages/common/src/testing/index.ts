/** Test kit shared by every package's tests and the e2e suite (not part of any build). */
export { ETCD_BINARY, EtcdCluster, type EtcdClusterOptions, etcdUnavailableReason } from './etcd-cluster.js';
export { freePort } from './free-port.js';
export { IN_CI, IS_ROOT, describeGated, describeWithEtcd } from './machine-gate.js';
