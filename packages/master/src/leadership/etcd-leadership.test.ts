/**
 * Masters elected through real etcd: one leads and all know it, leadership
 * passes on with a larger epoch, and a leader whose lease is gone (revoked,
 * or etcd frozen) stops at once, by its own clock, its writes fenced.
 */
import { randomUUID } from 'node:crypto';
import { EtcdCluster, describeWithEtcd } from '@drover/common/testing';
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { appRecord } from '../store/conformance/store-conformance.js';
import { connectEtcd } from '../store/etcd-calls.js';
import { prefixEnd } from '../store/etcd-keys.js';
import { ETCD_MEMBER_FLAGS } from '../store/etcd-limits.js';
import { EtcdStore } from '../store/etcd-store.js';
import { StoreFencedError } from '../store/store.js';
import { EtcdLeadership } from './etcd-leadership.js';
import type { LeadershipState } from './leadership.js';

const TTL_SECONDS = 2;
const TTL_MS = TTL_SECONDS * 1000;

interface TestMaster {
  readonly name: string;
  readonly store: EtcdStore;
  readonly leadership: EtcdLeadership;
  /** campaign(), already caught: resolves true once elected, false if it never was. */
  readonly elected: Promise<boolean>;
  readonly changes: LeadershipState[];
}

describeWithEtcd('EtcdLeadership', () => {
  let cluster: EtcdCluster;
  let raw: Etcd3;
  let prefix: string;
  const masters: TestMaster[] = [];

  async function start(name: string): Promise<TestMaster> {
    const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
    const leadership = EtcdLeadership.create({ store, ttlSeconds: TTL_SECONDS, id: name });
    const changes: LeadershipState[] = [];
    leadership.onChange((s) => changes.push(s));
    leadership.advertise({ grpc: `${name}:5053`, http: `${name}:5050` });
    const elected = leadership.campaign().then(
      () => true,
      () => false,
    );
    const master = { name, store, leadership, elected, changes };
    masters.push(master);
    return master;
  }

  beforeAll(async () => {
    cluster = await EtcdCluster.start({ extraArgs: ETCD_MEMBER_FLAGS });
    raw = connectEtcd(cluster.endpoints);
  }, 30_000);
  afterAll(async () => {
    raw?.close();
    await cluster?.stop();
  });
  afterEach(async () => {
    cluster.resumeMember(0);
    for (const m of masters.splice(0)) {
      await m.leadership.stop();
      await m.store.close();
    }
  });

  it('exactly one master leads; all agree on its addresses; masters() lists both, the leader first', async () => {
    prefix = `/t-${randomUUID()}`;
    const m1 = await start('m1');
    expect(await m1.elected).toBe(true);
    const m2 = await start('m2');
    await vi.waitFor(() => expect(m2.leadership.leaderAddress).toBe('m1:5053'), { timeout: 5_000 });
    expect([m1.leadership.isLeader, m2.leadership.isLeader]).toEqual([true, false]);
    expect([m1.leadership.leaderHttpAddress, m2.leadership.leaderHttpAddress]).toEqual(['m1:5050', 'm1:5050']);
    // The epoch is at least the revision that made m1 leader.
    const leaderKey = (await raw.kv.range({ key: Buffer.from(`${prefix}/leader/`), range_end: prefixEnd(`${prefix}/leader/`) })).kvs[0];
    expect(m1.leadership.epoch).toBeGreaterThanOrEqual(Number(leaderKey?.create_revision));
    expect(m1.leadership.term).toBe(m1.leadership.epoch);
    const expected = [
      { grpc: 'm1:5053', http: 'm1:5050', isLeader: true, epoch: m1.leadership.epoch },
      { grpc: 'm2:5053', http: 'm2:5050', isLeader: false, epoch: 0 },
    ];
    expect(await m1.leadership.masters()).toEqual(expected);
    expect(await m2.leadership.masters()).toEqual(expected);
    // The leader's writes pass the fence.
    await m1.store.commit([{ kind: 'putApp', app: appRecord('/a') }], m1.leadership.fence);
    // Addresses advertised again reach the standby.
    m1.leadership.advertise({ grpc: 'm1b:5053', http: 'm1b:5050' });
    await vi.waitFor(() => expect([m2.leadership.leaderAddress, m2.leadership.leaderHttpAddress]).toEqual(['m1b:5053', 'm1b:5050']), { timeout: 5_000 });
    expect((await m2.leadership.masters())[0]).toMatchObject({ grpc: 'm1b:5053', isLeader: true });
  });

  it('when the leader resigns, the standby leads with a larger epoch and the old leader writes no more', async () => {
    prefix = `/t-${randomUUID()}`;
    const m1 = await start('m1');
    expect(await m1.elected).toBe(true);
    const m2 = await start('m2');
    await vi.waitFor(() => expect(m2.leadership.leaderAddress).toBe('m1:5053'), { timeout: 5_000 });
    const firstEpoch = await m1.leadership.raiseEpochAbove(m1.leadership.epoch + 10);
    await m1.leadership.resign();
    expect(m1.leadership.isLeader).toBe(false);
    expect(m1.changes.at(-1)).toMatchObject({ isLeader: false });
    expect(await m2.elected).toBe(true);
    expect(m2.leadership.epoch).toBeGreaterThan(firstEpoch);
    await vi.waitFor(() => expect(m1.leadership.leaderAddress).toBe('m2:5053'), { timeout: 5_000 });
    expect(m2.changes.at(-1)).toEqual({ isLeader: true, epoch: m2.leadership.epoch, leaderAddress: 'm2:5053', leaderHttpAddress: 'm2:5050' });
    await expect(m1.store.commit([{ kind: 'putApp', app: appRecord('/old') }], m1.leadership.fence)).rejects.toBeInstanceOf(StoreFencedError);
    await m2.store.commit([{ kind: 'putApp', app: appRecord('/new') }], m2.leadership.fence);
    expect((await m2.store.load()).apps).toEqual([appRecord('/new')]);
    expect(await m2.leadership.masters()).toEqual([{ grpc: 'm2:5053', http: 'm2:5050', isLeader: true, epoch: m2.leadership.epoch }]);
  });

  it('a leader whose lease is revoked from outside stops leading within the TTL, and its writes are refused', async () => {
    prefix = `/t-${randomUUID()}`;
    const m1 = await start('m1');
    expect(await m1.elected).toBe(true);
    const leaderKey = (await raw.kv.range({ key: Buffer.from(`${prefix}/leader/`), range_end: prefixEnd(`${prefix}/leader/`) })).kvs[0];
    const revokedAt = Date.now();
    await raw.leaseClient.leaseRevoke({ ID: leaderKey?.lease ?? '0' });
    await vi.waitFor(() => expect(m1.leadership.isLeader).toBe(false), { timeout: TTL_MS, interval: 20 });
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(TTL_MS);
    expect(m1.changes.at(-1)).toMatchObject({ isLeader: false });
    await expect(m1.store.commit([{ kind: 'putApp', app: appRecord('/late') }], m1.leadership.fence)).rejects.toBeInstanceOf(StoreFencedError);
    await expect(m1.leadership.raiseEpochAbove(1_000_000)).rejects.toThrow(/does not lead/);
  });

  it('a leader whose etcd stops answering steps down by its own clock within the TTL', async () => {
    prefix = `/t-${randomUUID()}`;
    const m1 = await start('m1');
    expect(await m1.elected).toBe(true);
    let steppedDownAt: number | undefined;
    m1.leadership.onChange((s) => {
      if (!s.isLeader) steppedDownAt ??= Date.now();
    });
    const pausedAt = Date.now();
    cluster.pauseMember(0);
    // The last renewal was sent at most a third of a TTL before the pause,
    // so the lease may live on at most a TTL from it; timers under load are
    // allowed half a second.
    await vi.waitFor(() => expect(steppedDownAt).toBeDefined(), { timeout: TTL_MS + 2_000, interval: 20 });
    expect((steppedDownAt as number) - pausedAt).toBeLessThanOrEqual(TTL_MS + 500);
    expect(m1.leadership.isLeader).toBe(false);
    cluster.resumeMember(0);
    await expect(m1.store.commit([{ kind: 'putApp', app: appRecord('/late') }], m1.leadership.fence)).rejects.toBeInstanceOf(StoreFencedError);
  }, 30_000);
});
