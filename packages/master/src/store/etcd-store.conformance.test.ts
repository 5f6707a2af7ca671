/**
 * The etcd store passes the Store conformance suite against a real etcd
 * member (started with the limits Drover requires), each case under a key
 * prefix of its own.
 */
import { randomUUID } from 'node:crypto';
import { EtcdCluster, describeWithEtcd } from '@drover/common/testing';
import { afterAll, beforeAll } from 'vitest';
import { storeConformance } from './conformance/store-conformance.js';
import { connectEtcd } from './etcd-calls.js';
import { ETCD_MEMBER_FLAGS } from './etcd-limits.js';
import { prefixEnd } from './etcd-keys.js';
import { EtcdStore } from './etcd-store.js';

describeWithEtcd('etcd store', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ extraArgs: ETCD_MEMBER_FLAGS });
  }, 30_000);
  afterAll(() => cluster?.stop());

  storeConformance('etcd', {
    async location() {
      const prefix = `/conformance-${randomUUID()}`;
      return {
        open: () => EtcdStore.open({ endpoints: cluster.endpoints, prefix }),
        async dispose() {
          const client = connectEtcd(cluster.endpoints);
          try {
            await client.kv.deleteRange({ key: Buffer.from(`${prefix}/`), range_end: prefixEnd(`${prefix}/`) });
          } finally {
            client.close();
          }
        },
      };
    },
  });
});
