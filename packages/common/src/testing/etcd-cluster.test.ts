/**
 * The etcd test kit starts real members and takes quorum away and back,
 * which the HA tests rely on. Needs Debian's etcd-server (scripts/setup-etcd).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EtcdCluster } from './etcd-cluster.js';
import { describeWithEtcd } from './machine-gate.js';

async function health(endpoint: string): Promise<string> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(3000) });
    return ((await res.json()) as { health: string }).health;
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

describeWithEtcd('EtcdCluster', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 3 });
  }, 30_000);
  afterAll(() => cluster?.stop());

  it('starts three members on their own loopback ports, all healthy', async () => {
    expect(new Set(cluster.endpoints).size).toBe(3);
    expect(await Promise.all(cluster.endpoints.map(health))).toEqual(['true', 'true', 'true']);
  });

  it('loses quorum when two members are killed, and regains it when they restart', async () => {
    await cluster.killMember(1);
    await cluster.killMember(2);
    expect(cluster.pid(1)).toBeUndefined();
    expect(await health(cluster.endpoints[0] ?? '')).toBe('false');
    cluster.startMember(1);
    cluster.startMember(2);
    await cluster.waitHealthy();
    expect(await Promise.all(cluster.endpoints.map(health))).toEqual(['true', 'true', 'true']);
  }, 30_000);
});
