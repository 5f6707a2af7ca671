/**
 * scripts/bench/launch: how long from submitting an app until its task is
 * RUNNING, and how many launches per second, on a `drover dev` cluster,
 * next to raw child_process.spawn of the same command in the same run.
 *
 * Latency is measured one app at a time (submit, wait for RUNNING, next), so
 * it is the cost of one launch through the whole path: client -> master
 * (validate, persist, schedule, persist the task) -> agent (checkpoint,
 * spawn) -> status back. RUNNING time is the agent's own timestamp of the
 * spawn, so polling adds no error. Throughput is measured with all apps
 * submitted at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DroverClient } from '@drover/client';
import { agentStateCodec, AppSpec, type Task, taskStateCodec } from '@drover/proto';
import { percentile, printTable, round, saveResult, startDevCluster } from './bench-support.js';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '200' }, json: { type: 'boolean', default: false } } });
const n = Number(values.tasks);
const COMMAND = ['sleep', '600'];

function appSpec(id: string): AppSpec {
  return AppSpec.fromPartial({ id, args: COMMAND, cpus: 0.001, mem: 1, disk: 0, instances: 1 });
}

async function rawSpawn(): Promise<{ latencies: number[]; perSec: number }> {
  const children: ChildProcess[] = [];
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const child = spawn(COMMAND[0] as string, COMMAND.slice(1), { stdio: 'ignore', detached: true });
    await once(child, 'spawn');
    latencies.push(performance.now() - t0);
    children.push(child);
  }
  const t0 = performance.now();
  const burst = Array.from({ length: n }, () => spawn(COMMAND[0] as string, COMMAND.slice(1), { stdio: 'ignore', detached: true }));
  await Promise.all(burst.map((c) => once(c, 'spawn')));
  const perSec = n / ((performance.now() - t0) / 1000);
  for (const c of [...children, ...burst]) c.kill('SIGKILL');
  return { latencies, perSec };
}

async function runningTask(client: DroverClient, appId: string): Promise<Task> {
  for (;;) {
    const [task] = await client.listTasks({ appId });
    if (task && taskStateCodec.name(task.state) === 'RUNNING' && task.startedAt) return task;
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function removeAll(client: DroverClient, prefix: string): Promise<void> {
  const apps = (await client.listApps()).filter((a) => a.spec?.id.startsWith(prefix));
  await Promise.all(apps.map((a) => client.deleteApp(a.spec?.id ?? '')));
  while ((await client.listTasks({})).length > 0) await new Promise((r) => setTimeout(r, 50));
}

async function main(): Promise<void> {
  const raw = await rawSpawn();
  const cluster = await startDevCluster();
  const client = new DroverClient(cluster.address);
  try {
    while (!(await client.listAgents()).some((a) => agentStateCodec.name(a.state) === 'ACTIVE')) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // One at a time: the latency of a single launch.
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = `/bench/seq-${i}`;
      const submitted = Date.now();
      await client.deployApp(appSpec(id));
      const task = await runningTask(client, id);
      latencies.push((task.startedAt as Date).getTime() - submitted);
    }
    await removeAll(client, '/bench/seq-');

    // All at once: throughput.
    const submittedAt = new Map<string, number>();
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const id = `/bench/burst-${i}`;
        submittedAt.set(id, Date.now());
        await client.deployApp(appSpec(id));
      }),
    );
    let tasks: Task[] = [];
    for (;;) {
      tasks = (await client.listTasks({})).filter((t) => taskStateCodec.name(t.state) === 'RUNNING' && t.startedAt);
      if (tasks.length >= n) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const lastRunning = Math.max(...tasks.map((t) => (t.startedAt as Date).getTime()));
    const perSec = n / ((lastRunning - t0) / 1000);
    const burstLatencies = tasks.map((t) => (t.startedAt as Date).getTime() - (submittedAt.get(t.appId) ?? t0));
    await removeAll(client, '/bench/burst-');

    const result = {
      tasks: n,
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      perSec: round(perSec),
      rawP50Ms: round(percentile(raw.latencies, 50), 2),
      rawPerSec: round(raw.perSec),
      rawP99Ms: round(percentile(raw.latencies, 99), 2),
      burstP50Ms: round(percentile(burstLatencies, 50)),
      burstP99Ms: round(percentile(burstLatencies, 99)),
      p50Ratio: round(percentile(latencies, 50) / percentile(raw.latencies, 50)),
      perSecRatio: round(raw.perSec / perSec),
    };
    const file = saveResult('launch', result);
    if (values.json) {
      console.log(JSON.stringify(result));
    } else {
      printTable([
        { what: 'drover (submit -> RUNNING)', tasks: n, 'p50 ms': result.p50Ms, 'p99 ms': result.p99Ms, 'per sec': result.perSec },
        { what: 'raw child_process.spawn', tasks: n, 'p50 ms': result.rawP50Ms, 'p99 ms': result.rawP99Ms, 'per sec': result.rawPerSec },
      ]);
      console.log(`\nratio: p50 latency x${result.p50Ratio}, throughput /${result.perSecRatio}; burst latency p50 ${result.burstP50Ms} ms, p99 ${result.burstP99Ms} ms`);
      console.log(`written to ${file}`);
    }
  } finally {
    client.close();
    await cluster.stop();
  }
}

await main();
