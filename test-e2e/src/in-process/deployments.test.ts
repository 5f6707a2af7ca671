/**
 * Deployments with real agents, real processes and real health checks: a
 * new version whose checks never pass fails at its progress deadline and
 * rolls back, and a client polling the app all along never finds it down.
 */
import type { DroverClient } from '@drover/client';
import { AppSpec, deploymentStateCodec, HealthCheckProtocol, HealthState, taskStateCodec } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessCluster, startInProcessCluster } from '../support/in-process-cluster.js';
import { waitFor } from '../support/wait.js';

let cluster: InProcessCluster;
let client: DroverClient;

/** A web server answering 200 with its version, or 500 for the broken one. */
function server(version: string, status: number): AppSpec {
  return AppSpec.fromPartial({
    id: '/shop',
    cmd: `exec node -e "require('http').createServer((q,s)=>{s.statusCode=${status};s.end('${version}')}).listen(process.env.PORT0)"`,
    cpus: 0.05,
    mem: 32,
    instances: 2,
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }],
    healthChecks: [
      { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP, path: '/', portIndex: 0, intervalSeconds: 0.2, timeoutSeconds: 0.15, gracePeriodSeconds: 30, maxConsecutiveFailures: 0, delaySeconds: 0 },
    ],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5, progressDeadlineSeconds: 4 },
  });
}

beforeAll(async () => {
  cluster = await startInProcessCluster('deployments', [{ hostname: 'shop-host', ports: { begin: 32700, end: 32799 } }]);
  client = cluster.client;
});

afterAll(async () => {
  await cluster?.stop();
});

describe('a failing deployment', () => {
  it('rolls back at its progress deadline while the old version keeps serving', async () => {
    const first = await client.deployApp(server('v1', 200));
    await waitFor('v1 deployed', () => client.getDeployment(first.deployment?.id ?? ''), (d) => deploymentStateCodec.name(d.state) === 'SUCCEEDED', 20_000);
    const tasks = await client.listTasks({ appId: 'shop' });
    expect(tasks.every((t) => t.health === HealthState.HEALTH_STATE_HEALTHY)).toBe(true);
    const ports = tasks.map((t) => t.ports[0]?.number ?? 0);

    // Poll the old instances the whole time: every round must reach one.
    let polling = true;
    let rounds = 0;
    let emptyRounds = 0;
    const poller = (async () => {
      while (polling) {
        const answers = await Promise.all(
          ports.map((p) =>
            fetch(`http://127.0.0.1:${p}/`, { signal: AbortSignal.timeout(500) })
              .then((r) => (r.status === 200 ? r.text() : ''))
              .catch(() => ''),
          ),
        );
        rounds++;
        if (!answers.includes('v1')) emptyRounds++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const second = await client.deployApp(server('v2', 500));
    const failed = await waitFor(
      'the broken deployment to fail',
      () => client.getDeployment(second.deployment?.id ?? ''),
      (d) => deploymentStateCodec.name(d.state) !== 'RUNNING',
      30_000,
      100,
    );
    expect(deploymentStateCodec.name(failed.state)).toBe('FAILED');
    expect(failed.message).toMatch(/no progress for \d+ s \(progress deadline 4 s\); rolling back/);
    const rollback = await waitFor(
      'the rollback to finish',
      () => client.getDeployment(failed.rollbackId),
      (d) => deploymentStateCodec.name(d.state) !== 'RUNNING',
      30_000,
      100,
    );
    expect(deploymentStateCodec.name(rollback.state)).toBe('SUCCEEDED');
    polling = false;
    await poller;
    expect(rounds).toBeGreaterThan(20);
    expect(emptyRounds).toBe(0);
    const after = await client.listTasks({ appId: 'shop' });
    expect(after.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(after.every((t) => taskStateCodec.name(t.state) === 'RUNNING')).toBe(true);
  });
});
