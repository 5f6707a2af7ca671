/**
 * scripts/bench/rolling: a rolling upgrade of N instances of a small HTTP
 * server (health checked every 100 ms) on a `drover dev` cluster, timed from
 * the deploy until the deployment succeeded, against the ideal: the batches
 * the upgrade strategy allows (maximumOverCapacity extra instances at a
 * time, minimumHealthCapacity 1) run back to back, each taking the time its
 * slowest task needed from placement to its first passing check (starting
 * several processes at once is slower than one, and that is start time, not
 * Drover's overhead). The ratio shows what Drover adds between batches
 * (reconcile passes, kills, launches); target <= 1.2.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DroverClient } from '@drover/client';
import { AppSpec, deploymentStateCodec, type Event, EventsClient, HealthCheckProtocol } from '@drover/proto';
import { credentials } from '@grpc/grpc-js';
import { percentile, printTable, round, saveResult, startDevCluster } from './bench-support.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '20' },
    over: { type: 'string', default: '0.25' },
    // Upgrades to run (v2, v3, ...); the table reports each and the median ratio.
    runs: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const instances = Number(values.instances);
const over = Number(values.over);
const perBatch = Math.max(1, Math.floor(instances * over));
const batches = Math.ceil(instances / perBatch);

const SERVER = `node -e "require('http').createServer((q,s)=>s.end(process.env.V)).listen(process.env.PORT0)"`;

function spec(version: string): AppSpec {
  return AppSpec.fromPartial({
    id: '/bench/rolling',
    cmd: SERVER,
    // Limits are enforced (a CFS quota of cpus x 100 ms per 100 ms, a hard
    // memory limit): node needs ~45 MiB, and at 0.01 cpus its start alone
    // took seconds. 25 instances (20 + 5 over capacity) x 0.075 fit in the
    // 2 cores a small `drover dev` agent offers.
    cpus: 0.075,
    mem: 128,
    instances,
    env: { V: version },
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }],
    healthChecks: [
      {
        protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP,
        path: '/',
        portIndex: 0,
        intervalSeconds: 0.1,
        timeoutSeconds: 0.09,
        gracePeriodSeconds: 30,
        maxConsecutiveFailures: 3,
        delaySeconds: 0,
      },
    ],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: over, progressDeadlineSeconds: 120 },
  });
}

async function waitForDeployment(client: DroverClient, id: string): Promise<void> {
  for (;;) {
    const d = await client.getDeployment(id);
    const state = deploymentStateCodec.name(d.state);
    if (state === 'SUCCEEDED') return;
    if (state !== 'RUNNING') throw new Error(`deployment ${id} ended ${state}: ${d.message}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function main(): Promise<void> {
  const cluster = await startDevCluster();
  const client = new DroverClient(cluster.address, { deadlineMs: 30_000 });
  const events = new EventsClient(cluster.address, credentials.createInsecure());
  const healthyAt = new Map<string, number>();
  const stream = events.watch({ types: ['health_status_changed_event'], afterId: 0 });
  stream.on('data', (e: Event) => {
    if (e.payload?.$case === 'healthChanged' && e.payload.value.alive && e.payload.value.task) {
      healthyAt.set(e.payload.value.task.id, e.timestamp?.getTime() ?? Date.now());
    }
  });
  stream.on('error', () => undefined);
  try {
    const first = await client.deployApp(spec('1'));
    await waitForDeployment(client, first.deployment?.id ?? '');

    const runs: Array<{ seconds: number; perTaskMs: number; idealSeconds: number; ratio: number }> = [];
    for (let run = 0; run < Number(values.runs); run++) {
      const t0 = performance.now();
      const started = Date.now();
      const next = await client.deployApp(spec(String(run + 2)));
      await waitForDeployment(client, next.deployment?.id ?? '');
      const seconds = (performance.now() - t0) / 1000;
      const version = (await client.getApp('/bench/rolling')).version;
      const tasks = (await client.listTasks({ appId: '/bench/rolling' })).filter((t) => t.appVersion === version);
      const toHealthy = tasks
        .map((t) => ({ staged: t.stagedAt?.getTime() ?? started, ms: (healthyAt.get(t.id) ?? NaN) - (t.stagedAt?.getTime() ?? started) }))
        .filter((t) => Number.isFinite(t.ms))
        .sort((a, b) => a.staged - b.staged);
      let idealMs = 0;
      for (let b = 0; b < toHealthy.length; b += perBatch) {
        idealMs += Math.max(...toHealthy.slice(b, b + perBatch).map((t) => t.ms));
      }
      runs.push({
        seconds,
        perTaskMs: percentile(
          toHealthy.map((t) => t.ms),
          50,
        ),
        idealSeconds: idealMs / 1000,
        ratio: seconds / (idealMs / 1000),
      });
    }
    const median = [...runs].sort((a, b) => a.ratio - b.ratio)[Math.floor(runs.length / 2)] as (typeof runs)[number];
    const result = {
      instances,
      batches,
      runs: runs.length,
      seconds: round(median.seconds, 2),
      taskToHealthyMs: round(median.perTaskMs),
      idealSeconds: round(median.idealSeconds, 2),
      ratio: round(median.ratio, 2),
      ratios: runs.map((r) => round(r.ratio, 2)),
    };
    const file = saveResult('rolling', result);
    if (values.json) console.log(JSON.stringify(result));
    else {
      printTable(
        runs.map((r, i) => ({
          run: i + 1,
          instances,
          'batches (over capacity)': `${batches} (${perBatch} extra)`,
          'upgrade s': round(r.seconds, 2),
          'placed->healthy ms (p50 task)': round(r.perTaskMs),
          'ideal s': round(r.idealSeconds, 2),
          ratio: round(r.ratio, 2),
        })),
      );
      console.log(`median ratio ${result.ratio} (target <= 1.2); written to ${file}`);
    }
    await client.deleteApp('/bench/rolling', { force: true });
    while ((await client.listTasks({})).length > 0) await new Promise((r) => setTimeout(r, 50));
  } finally {
    stream.cancel();
    events.close();
    client.close();
    await cluster.stop();
  }
}

await main();
