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
 *
 * That ideal takes Drover's own launch times, so it hides what launching
 * through Drover costs. The raw ideal does not: the same server started as
 * plain processes, each in a cgroup with the app's limits (cpus, mem, the
 * agent's own cgroup code and join wrapper), batch after batch, each batch
 * done once all its servers answer (polled at the health check's interval).
 * rawRatio = upgrade time / raw ideal. `--root DIR` runs another checkout's
 * build with this same script.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DroverClient } from '@drover/client';
import { AppSpec, deploymentStateCodec, type Event, EventsClient, HealthCheckProtocol } from '@drover/proto';
import { credentials } from '@grpc/grpc-js';
import { createLogger } from '@drover/common';
import { agentCgroupParent, detectIsolation } from '../../packages/agent/src/isolation/cgroup-detect.js';
import type { TaskCgroup } from '../../packages/agent/src/isolation/isolation.js';
import { wrappedCommand } from '../../packages/agent/src/isolation/join-wrapper.js';
import { freePort, percentile, printTable, round, saveResult, startDevCluster } from './bench-support.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '20' },
    over: { type: 'string', default: '0.25' },
    // Upgrades to run (v2, v3, ...); the table reports each and the median ratio.
    runs: { type: 'string', default: '3' },
    root: { type: 'string', default: '.' },
    json: { type: 'boolean', default: false },
  },
});
const instances = Number(values.instances);
const over = Number(values.over);
const perBatch = Math.max(1, Math.floor(instances * over));
const batches = Math.ceil(instances / perBatch);

const SERVER = `node -e "require('http').createServer((q,s)=>s.end(process.env.V)).listen(process.env.PORT0)"`;
/** The app's limits, for Drover and for the raw processes alike. */
const CPUS = 0.075;
const MEM_MIB = 128;
/** The health check's interval: how often a raw server is asked too. */
const CHECK_INTERVAL_MS = 100;

function spec(version: string): AppSpec {
  return AppSpec.fromPartial({
    id: '/bench/rolling',
    cmd: SERVER,
    // Limits are enforced (a CFS quota of cpus x 100 ms per 100 ms, a hard
    // memory limit): node needs ~45 MiB, and at 0.01 cpus its start alone
    // took seconds. 25 instances (20 + 5 over capacity) x 0.075 fit in the
    // 2 cores a small `drover dev` agent offers.
    cpus: CPUS,
    mem: MEM_MIB,
    instances,
    env: { V: version },
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }],
    healthChecks: [
      {
        protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP,
        path: '/',
        portIndex: 0,
        intervalSeconds: CHECK_INTERVAL_MS / 1000,
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

/** True once http://127.0.0.1:port/ answers 200 within the check's timeout. */
async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(90) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The raw ideal (see the top of the file): `instances` servers started
 * `perBatch` at a time as plain processes in cgroups with the app's limits;
 * seconds until the last batch answered.
 */
async function rawIdealSeconds(): Promise<{ seconds: number; isolation: string }> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-raw-'));
  const isolator = await detectIsolation({ parent: agentCgroupParent(workDir), logger: createLogger({ level: 'silent' }) });
  const started: Array<{ pid: number; cgroup: TaskCgroup | undefined }> = [];
  try {
    let total = 0;
    for (let b = 0; b < instances; b += perBatch) {
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: Math.min(perBatch, instances - b) }, async (_, i) => {
          const port = await freePort();
          const cgroup = await isolator.create(`raw-${b + i}`, isolator.limitsOf({ cpus: CPUS, mem: MEM_MIB }));
          const [program, ...args] = wrappedCommand(cgroup?.procsFiles ?? [], undefined, '/bin/sh', ['-c', SERVER]);
          const child = spawn(program, args, {
            stdio: 'ignore',
            detached: true,
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT0: String(port), V: 'raw' },
          });
          child.unref();
          started.push({ pid: child.pid as number, cgroup });
          while (!(await answers(port))) await new Promise((r) => setTimeout(r, CHECK_INTERVAL_MS));
        }),
      );
      total += performance.now() - t0;
    }
    return { seconds: total / 1000, isolation: isolator.kind };
  } finally {
    for (const { pid, cgroup } of started) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
      await cgroup?.destroy().catch(() => undefined);
    }
    await isolator.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const raw = await rawIdealSeconds();
  const cluster = await startDevCluster({ root: path.resolve(values.root) });
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
      rawIdealSeconds: round(raw.seconds, 2),
      rawIsolation: raw.isolation,
      rawRatio: round(median.seconds / raw.seconds, 2),
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
      console.log(
        `raw processes under the same limits (${result.rawIsolation}): ${result.rawIdealSeconds} s for ${batches} batches; ` +
          `the median upgrade takes x${result.rawRatio} that`,
      );
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
