/**
 * What the etcd store does beyond the conformance suite, against real
 * members: one key per record, merged transactions, refusing batches it
 * cannot write atomically, members without Drover's limits, the leader key
 * fence, and losing quorum.
 */
import { randomUUID } from 'node:crypto';
import { Code } from '@drover/common';
import { EtcdCluster, describeWithEtcd, freePort } from '@drover/common/testing';
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentRecord, appRecord, deploymentRecord, taskRecord, versionRecord } from './conformance/store-conformance.js';
import { EtcdUnknownOutcomeError, connectEtcd } from './etcd-calls.js';
import { prefixEnd } from './etcd-keys.js';
import { BatchTooLargeError, ETCD_MEMBER_FLAGS, EtcdLimitError } from './etcd-limits.js';
import { EtcdStore } from './etcd-store.js';
import { StoreFencedError } from './store.js';

/** Every key under `prefix` and its value, in key order. */
async function keysUnder(client: Etcd3, prefix: string): Promise<Record<string, string>> {
  const res = await client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) });
  return Object.fromEntries(res.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
}

async function revision(client: Etcd3): Promise<number> {
  return Number((await client.kv.range({ key: Buffer.from('/nothing') })).header.revision);
}

describeWithEtcd('EtcdStore on one member', () => {
  let cluster: EtcdCluster;
  let raw: Etcd3;
  const stores: EtcdStore[] = [];
  const open = async (prefix: string) => {
    const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ extraArgs: ETCD_MEMBER_FLAGS });
    raw = connectEtcd(cluster.endpoints);
  }, 30_000);
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(async () => {
    raw?.close();
    await cluster?.stop();
  });

  it('keeps one key per record, named by kind and id, holding the record as JSON', async () => {
    const prefix = `/t-${randomUUID()}`;
    const store = await open(prefix);
    const term = await store.nextGeneration();
    const app = appRecord('/web/api');
    await store.commit(
      [
        { kind: 'putApp', app },
        { kind: 'putTask', task: taskRecord('t1') },
        { kind: 'putAgent', agent: agentRecord('a1') },
        { kind: 'putVersion', version: versionRecord('/web/api', 'v1') },
        { kind: 'putDeployment', deployment: deploymentRecord('d1') },
      ],
      { term },
    );
    await store.upgrade([], 1);
    expect(await keysUnder(raw, `${prefix}/`)).toEqual({
      [`${prefix}/agents/a1`]: JSON.stringify(agentRecord('a1')),
      [`${prefix}/apps/%2Fweb%2Fapi`]: JSON.stringify(app),
      [`${prefix}/deployments/d1`]: JSON.stringify(deploymentRecord('d1')),
      [`${prefix}/meta/format`]: '1',
      [`${prefix}/meta/generation`]: String(term),
      [`${prefix}/meta/term`]: String(term),
      [`${prefix}/tasks/t1`]: JSON.stringify(taskRecord('t1')),
      [`${prefix}/versions/%2Fweb%2Fapi/v1`]: JSON.stringify(versionRecord('/web/api', 'v1')),
    });
  });

  it('merges the commits queued behind a running one into one transaction, the later write of a key winning', async () => {
    const store = await open(`/t-${randomUUID()}`);
    const before = await revision(raw);
    // The first runs alone; the 49 queued meanwhile go in one transaction.
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.commit([{ kind: 'putTask', task: taskRecord(`t${i % 10}`, { updatedAt: i }) }])));
    expect((await revision(raw)) - before).toBe(2);
    const tasks = (await store.load()).tasks;
    expect(tasks).toHaveLength(10);
    expect(tasks.find((t) => t.id === 't3')?.updatedAt).toBe(43);
  });

  it('refuses a batch too large for one transaction whole, before sending any of it', async () => {
    const prefix = `/t-${randomUUID()}`;
    const store = await open(prefix);
    const big = 'x'.repeat(400 * 1024);
    const batch = Array.from({ length: 30 }, (_, i) => ({ kind: 'putTask' as const, task: taskRecord(`t${i}`, { message: big }) }));
    await expect(store.commit(batch)).rejects.toBeInstanceOf(BatchTooLargeError);
    await store.commit([{ kind: 'putApp', app: appRecord('/after') }]);
    expect(Object.keys(await keysUnder(raw, `${prefix}/`))).toEqual([`${prefix}/apps/%2Fafter`]);
  });

  it('loads in pages, reading a page too large for the client again in halves', async () => {
    const prefix = `/t-${randomUUID()}`;
    const writer = await open(prefix);
    const tasks = Array.from({ length: 2_000 }, (_, i) => taskRecord(`t${String(i).padStart(4, '0')}`));
    await writer.commit(tasks.map((task) => ({ kind: 'putTask', task })));
    // 2,000 tasks are some 700 KiB: one page of 5,000 would not fit in 200 KiB.
    const reader = await EtcdStore.open({ endpoints: cluster.endpoints, prefix, maxReplyBytes: 200 * 1024 });
    stores.push(reader);
    const loaded = await reader.load();
    expect(loaded.tasks.map((t) => t.id)).toEqual(tasks.map((t) => t.id));
  });

  it('with a leader key, refuses every write once that key is gone, writing nothing', async () => {
    const prefix = `/t-${randomUUID()}`;
    const store = await open(prefix);
    const term = await store.nextGeneration();
    const lease = raw.lease(10, { autoKeepAlive: false });
    const leaderKey = `${prefix}/leader/${await lease.grant()}`;
    await lease.put(leaderKey).value('me');
    const created = (await raw.kv.range({ key: Buffer.from(leaderKey) })).kvs[0]?.create_revision ?? '';
    store.useLeaderKey({ key: leaderKey, createRevision: created });
    await store.commit([{ kind: 'putApp', app: appRecord('/a') }], { term });
    await lease.revoke();
    const refused = await store.commit([{ kind: 'putApp', app: appRecord('/b') }, { kind: 'deleteApp', id: '/a' }], { term }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreFencedError);
    expect(refused).toMatchObject({ term, message: expect.stringContaining(`leader key ${leaderKey}`) });
    await expect(store.nextGeneration(0, term)).rejects.toBeInstanceOf(StoreFencedError);
    await expect(store.upgrade([{ kind: 'putApp', app: appRecord('/c') }], 9)).rejects.toBeInstanceOf(StoreFencedError);
    // A key of the same name made again is another key (another create revision).
    await raw.put(leaderKey).value('someone else');
    await expect(store.commit([{ kind: 'putApp', app: appRecord('/b') }], { term })).rejects.toBeInstanceOf(StoreFencedError);
    expect((await store.load()).apps).toEqual([appRecord('/a')]);
  });
});

describe('EtcdStore and etcd trouble', () => {
  it('does not open where no member listens, saying so within its deadline', async () => {
    const endpoints = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
    const started = Date.now();
    const refused = await EtcdStore.open({ endpoints, requestTimeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(refused).toMatchObject({ code: Code.Unavailable, message: expect.stringContaining(`etcd (${endpoints.join(',')}) did not answer: No connection established`) });
  });

  describeWithEtcd('members without the limits Drover needs', () => {
    let defaults: EtcdCluster;
    let smallRequests: EtcdCluster;
    beforeAll(async () => {
      [defaults, smallRequests] = await Promise.all([EtcdCluster.start(), EtcdCluster.start({ extraArgs: ['--max-txn-ops=100000'] })]);
    }, 30_000);
    afterAll(async () => {
      await defaults?.stop();
      await smallRequests?.stop();
    });

    it('refuse to open, naming the flags to set', async () => {
      const refused = await EtcdStore.open({ endpoints: defaults.endpoints, prefix: '/limits' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(EtcdLimitError);
      expect((refused as Error).message).toContain(ETCD_MEMBER_FLAGS.join(' '));
    });

    it('refuse a batch over --max-request-bytes whole, naming the flags; the store goes on', async () => {
      const store = await EtcdStore.open({ endpoints: smallRequests.endpoints, prefix: '/limits' });
      try {
        // 5,000 tasks are some 1.8 MB, over etcd's default of 1.5 MiB.
        const refused = await store.commit(Array.from({ length: 5_000 }, (_, i) => ({ kind: 'putTask' as const, task: taskRecord(`t${i}`) }))).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(EtcdLimitError);
        expect((refused as Error).message).toContain(ETCD_MEMBER_FLAGS.join(' '));
        await store.commit([{ kind: 'putApp', app: appRecord('/after') }]);
        const loaded = await store.load();
        expect([loaded.apps.length, loaded.tasks.length]).toEqual([1, 0]);
      } finally {
        await store.close();
      }
    });
  });

  describeWithEtcd('three members losing quorum', () => {
    let cluster: EtcdCluster;
    beforeAll(async () => {
      cluster = await EtcdCluster.start({ members: 3, extraArgs: ETCD_MEMBER_FLAGS });
    }, 30_000);
    afterAll(() => cluster?.stop());

    it('a commit rejects with Unavailable naming etcd, is never half-written, and writes resume once quorum is back', async () => {
      const prefix = `/t-${randomUUID()}`;
      const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix, requestTimeoutMs: 2_000 });
      const term = await store.nextGeneration();
      await store.commit([{ kind: 'putApp', app: appRecord('/before') }], { term });
      await cluster.killMember(1);
      await cluster.killMember(2);
      const batch = Array.from({ length: 500 }, (_, i) => ({ kind: 'putTask' as const, task: taskRecord(`t${i}`) }));
      const started = Date.now();
      const refused = await store.commit(batch, { term }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(refused).toMatchObject({ code: Code.Unavailable, message: expect.stringContaining(`etcd (${cluster.endpoints.join(',')}) did not answer`) });
      if (refused instanceof EtcdUnknownOutcomeError) {
        // etcd may still apply that batch: this store writes nothing more.
        await expect(store.commit([{ kind: 'putApp', app: appRecord('/later') }], { term })).rejects.toBeInstanceOf(EtcdUnknownOutcomeError);
      }
      cluster.startMember(1);
      cluster.startMember(2);
      await cluster.waitHealthy();
      await store.close();
      const again = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
      try {
        const loaded = await again.load();
        expect(loaded.apps).toEqual([appRecord('/before')]);
        // All of the refused batch or none of it: etcd may have applied it once quorum was back.
        expect([0, 500]).toContain(loaded.tasks.length);
        const newTerm = await again.nextGeneration();
        await again.commit([{ kind: 'putApp', app: appRecord('/after') }], { term: newTerm });
        expect((await again.load()).apps.map((a) => a.spec.id).sort()).toEqual(['/after', '/before']);
      } finally {
        await again.close();
      }
    }, 60_000);
  });
});
