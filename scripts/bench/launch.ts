/**
 * scripts/bench/launch: what launching a task through Drover costs next to a
 * raw spawn loop measured in the same run, on one machine.
 *
 * The cluster is a master and an agent, each a process of its own (as on
 * real machines), so the agent's memory and CPU are its own. `--root DIR`
 * runs the build of another checkout with this same script: the way to
 * compare two builds side by side (alternate them: the machine is noisy).
 *
 * Measured, in this order:
 * - raw: child_process.spawn of the same command from this process, one at a
 *   time (latency) and all at once (throughput), for `sleep 600` and for the
 *   one-off `/bin/true`;
 * - the idle agent: its RSS (and its spawner's, when it has one) and CPU
 *   over a few seconds;
 * - latency: one app at a time, submit -> RUNNING (the agent's own
 *   timestamp of the spawn, so polling adds no error): client -> master
 *   (validate, persist, schedule, persist the task) -> agent (checkpoint,
 *   spawn) -> status back;
 * - 50 tasks running: the agent's RSS and CPU;
 * - a burst of `--tasks` apps submitted at once: tasks/s until the last is
 *   RUNNING;
 * - a burst of `--tasks` one-off tasks (`drover run` of /bin/true) at once:
 *   tasks/s until the last is RUNNING, and the agent's and the master's CPU
 *   per task (until every one ended and was acked); with --strace, the agent's fsync,
 *   rename, mkdir, rmdir and unlink calls per task (strace slows everything
 *   down: the other figures of such a run mean nothing);
 * - `drover run --wait -- /bin/true` from a shell: its wall time, node's
 *   start included.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DroverClient } from '@drover/client';
import { agentStateCodec, AppSpec, type Task, taskStateCodec } from '@drover/proto';
import { childPids, cpuMs, droverBin, percentile, printTable, processName, round, rssMiB, saveResult, startSplitCluster } from './bench-support.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '200' },
    root: { type: 'string', default: '.' },
    json: { type: 'boolean', default: false },
    strace: { type: 'boolean', default: false },
    'run-wait': { type: 'string', default: '10' },
  },
});
const n = Number(values.tasks);
const root = path.resolve(values.root);
const LONG = ['sleep', '600'];
const ONE_OFF = ['/bin/true'];
/** How long idle and 50-task CPU is sampled. */
const CPU_WINDOW_MS = 5000;
/**
 * How often a burst asks the master whether its tasks run (or ended). The
 * polling only tells the bench when to stop waiting: the figures come from
 * the agent's own timestamps. Every 10-20 ms, listing every task (ended ones
 * included, several hundred by then) was a third of the master's CPU in the
 * one-off burst, a load of the bench's own making that no cluster carries.
 */
const BURST_POLL_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function appSpec(id: string): AppSpec {
  return AppSpec.fromPartial({ id, args: LONG, cpus: 0.001, mem: 1, disk: 0, instances: 1 });
}

/** Raw spawns: one at a time (latencies) and `count` at once (per second). */
async function rawSpawn(command: string[], sequential: boolean): Promise<{ latencies: number[]; perSec: number }> {
  const children: ChildProcess[] = [];
  const latencies: number[] = [];
  const start = () => spawn(command[0] as string, command.slice(1), { stdio: 'ignore', detached: true });
  if (sequential) {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const child = start();
      await once(child, 'spawn');
      latencies.push(performance.now() - t0);
      children.push(child);
    }
  }
  const t0 = performance.now();
  const burst = Array.from({ length: n }, start);
  await Promise.all(burst.map((c) => once(c, 'spawn')));
  const perSec = n / ((performance.now() - t0) / 1000);
  for (const c of [...children, ...burst]) c.kill('SIGKILL');
  return { latencies, perSec };
}

/** The agent's helper processes (its spawner), not its tasks (which may be its children too). */
function helperPids(agentPid: number): number[] {
  return childPids(agentPid).filter((pid) => processName(pid) === 'drover-spawner');
}

/** CPU time of the agent and its helpers, ms. */
function agentCpuMs(agentPid: number): number {
  return cpuMs(agentPid) + helperPids(agentPid).reduce((sum, pid) => sum + cpuMs(pid), 0);
}

/** The agent's RSS (and its spawner's) now, and its CPU use over CPU_WINDOW_MS as % of one core. */
async function agentFootprint(agentPid: number): Promise<{ rssMiB: number; helperRssMiB: number; cpuPct: number }> {
  const helpers = () => helperPids(agentPid);
  const cpu = () => agentCpuMs(agentPid);
  const before = cpu();
  await sleep(CPU_WINDOW_MS);
  const cpuPct = ((cpu() - before) / CPU_WINDOW_MS) * 100;
  return { rssMiB: rssMiB(agentPid), helperRssMiB: helpers().reduce((sum, pid) => sum + rssMiB(pid), 0), cpuPct };
}

async function runningTask(client: DroverClient, appId: string): Promise<Task> {
  for (;;) {
    const [task] = await client.listTasks({ appId });
    if (task && taskStateCodec.name(task.state) === 'RUNNING' && task.startedAt) return task;
    await sleep(2);
  }
}

async function removeAll(client: DroverClient, prefix: string): Promise<void> {
  const apps = (await client.listApps()).filter((a) => a.spec?.id.startsWith(prefix));
  await Promise.all(apps.map((a) => client.deleteApp(a.spec?.id ?? '', { force: true })));
  while ((await client.listTasks({})).length > 0) await sleep(50);
}

/** Deploys `count` apps at once and waits until all run; resolves with their tasks and when it started. */
async function burstOfApps(client: DroverClient, prefix: string, count: number): Promise<{ t0: number; submittedAt: Map<string, number>; tasks: Task[] }> {
  const submittedAt = new Map<string, number>();
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = `${prefix}${i}`;
      submittedAt.set(id, Date.now());
      await client.deployApp(appSpec(id));
    }),
  );
  for (;;) {
    const tasks = (await client.listTasks({})).filter((t) => t.appId.startsWith(prefix) && taskStateCodec.name(t.state) === 'RUNNING' && t.startedAt);
    if (tasks.length >= count) return { t0, submittedAt, tasks };
    await sleep(BURST_POLL_MS);
  }
}

/** Counts the agent's (and its children's) fsync/rename/mkdir/rmdir/unlink calls while `work` runs. */
async function straced<T>(pids: number[], work: () => Promise<T>): Promise<{ result: T; calls: Record<string, number> }> {
  const out = path.join(os.tmpdir(), `drover-bench-strace-${process.pid}.txt`);
  const tracer = spawn('strace', ['-f', '-c', '-o', out, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2,mkdir,mkdirat,rmdir,unlink,unlinkat', ...pids.flatMap((p) => ['-p', String(p)])], {
    stdio: 'ignore',
  });
  await sleep(1000); // attached
  const result = await work();
  const exited = once(tracer, 'exit');
  tracer.kill('SIGINT');
  await exited;
  const calls: Record<string, number> = {};
  for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
    if (m) calls[m[2] as string] = Number(m[1]);
  }
  fs.rmSync(out, { force: true });
  return { result, calls };
}

/** A burst of one-off tasks: tasks/s until the last RUNNING, and the agent's and the master's CPU per task until all ended and were acked. */
async function oneOffBurst(client: DroverClient, agentPid: number, masterPid: number): Promise<{ perSec: number; cpuMsPerTask: number; masterCpuMsPerTask: number }> {
  const agentCpu = () => agentCpuMs(agentPid);
  const cpuBefore = agentCpu();
  const masterBefore = cpuMs(masterPid);
  const t0 = Date.now();
  const accepted = await Promise.all(
    Array.from({ length: n }, (_, i) => client.runTask({ args: ONE_OFF, cpus: 0.001, mem: 1, name: `oneoff-${i}`, wait: false })),
  );
  const ids = new Set(accepted.map((t) => t.id));
  let ended: Task[] = [];
  for (;;) {
    ended = (await client.listTasks({ includeEnded: true })).filter((t) => ids.has(t.id) && t.endedAt !== undefined);
    if (ended.length >= n) break;
    await sleep(BURST_POLL_MS);
  }
  const lastRunning = Math.max(...ended.map((t) => t.startedAt?.getTime() ?? Number.NaN));
  // Until the agent is quiet again: acks, forgetting, cgroup removal.
  let last = agentCpu();
  for (;;) {
    await sleep(500);
    const now = agentCpu();
    if (now - last < 10) break;
    last = now;
  }
  return { perSec: n / ((lastRunning - t0) / 1000), cpuMsPerTask: (last - cpuBefore) / n, masterCpuMsPerTask: (cpuMs(masterPid) - masterBefore) / n };
}

/** Median wall time of `drover run --wait -- /bin/true`, run `times` times one after the other. */
function runWaitMs(address: string, times: number): number {
  const walls: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, [droverBin(root), 'run', '--master', address, '--wait', '--', ...ONE_OFF], { stdio: 'ignore' });
    if (res.status !== 0) throw new Error(`drover run --wait exited with ${res.status}`);
    walls.push(performance.now() - t0);
  }
  return percentile(walls, 50);
}

async function main(): Promise<void> {
  const raw = await rawSpawn(LONG, true);
  const rawOneOff = await rawSpawn(ONE_OFF, false);
  const cluster = await startSplitCluster({ root });
  const client = new DroverClient(cluster.address, { deadlineMs: 60_000 });
  try {
    while (!(await client.listAgents()).some((a) => agentStateCodec.name(a.state) === 'ACTIVE')) await sleep(50);
    await sleep(2000); // start-up work (probe, recovery, first usage sample) is over
    const idle = await agentFootprint(cluster.agentPid);

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

    await burstOfApps(client, '/bench/fifty-', 50);
    const fifty = await agentFootprint(cluster.agentPid);
    await removeAll(client, '/bench/fifty-');

    // All at once: throughput.
    const burst = await burstOfApps(client, '/bench/burst-', n);
    const lastRunning = Math.max(...burst.tasks.map((t) => (t.startedAt as Date).getTime()));
    const perSec = n / ((lastRunning - burst.t0) / 1000);
    const burstLatencies = burst.tasks.map((t) => (t.startedAt as Date).getTime() - (burst.submittedAt.get(t.appId) ?? burst.t0));
    await removeAll(client, '/bench/burst-');

    const oneOff = values.strace
      ? await straced([cluster.agentPid, ...helperPids(cluster.agentPid)], () => oneOffBurst(client, cluster.agentPid, cluster.masterPid))
      : { result: await oneOffBurst(client, cluster.agentPid, cluster.masterPid), calls: undefined };
    const runWait = runWaitMs(cluster.address, Number(values['run-wait']));

    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const rawP50 = percentile(raw.latencies, 50);
    const rawP99 = percentile(raw.latencies, 99);
    const result = {
      tasks: n,
      root,
      p50Ms: round(p50),
      p99Ms: round(p99),
      perSec: round(perSec),
      burstP50Ms: round(percentile(burstLatencies, 50)),
      burstP99Ms: round(percentile(burstLatencies, 99)),
      oneOffPerSec: round(oneOff.result.perSec),
      rawP50Ms: round(rawP50, 2),
      rawP99Ms: round(rawP99, 2),
      rawPerSec: round(raw.perSec),
      rawOneOffPerSec: round(rawOneOff.perSec),
      /** Drover's burst throughput as a share of the raw loop's (1 = as fast). */
      perSecRatio: round(perSec / raw.perSec, 3),
      oneOffPerSecRatio: round(oneOff.result.perSec / rawOneOff.perSec, 3),
      /** Drover's latency as a multiple of the raw loop's. */
      p50Ratio: round(p50 / rawP50),
      p99Ratio: round(p99 / rawP99),
      agentIdleRssMiB: round(idle.rssMiB),
      agentIdleHelperRssMiB: round(idle.helperRssMiB),
      agentIdleCpuPct: round(idle.cpuPct, 2),
      agent50RssMiB: round(fifty.rssMiB),
      agent50HelperRssMiB: round(fifty.helperRssMiB),
      agent50CpuPct: round(fifty.cpuPct, 2),
      agentCpuMsPerOneOffTask: round(oneOff.result.cpuMsPerTask, 2),
      masterCpuMsPerOneOffTask: round(oneOff.result.masterCpuMsPerTask, 2),
      runWaitMs: round(runWait),
      ...(oneOff.calls === undefined
        ? {}
        : { syscallsPerOneOffTask: Object.fromEntries(Object.entries(oneOff.calls).map(([k, v]) => [k, round(v / n, 2)])) }),
    };
    const file = saveResult('launch', result);
    if (values.json) {
      console.log(JSON.stringify(result));
    } else {
      printTable([
        { what: 'drover (submit -> RUNNING)', tasks: n, 'p50 ms': result.p50Ms, 'p99 ms': result.p99Ms, 'burst/s': result.perSec, 'one-off burst/s': result.oneOffPerSec },
        { what: 'raw child_process.spawn', tasks: n, 'p50 ms': result.rawP50Ms, 'p99 ms': result.rawP99Ms, 'burst/s': result.rawPerSec, 'one-off burst/s': result.rawOneOffPerSec },
      ]);
      console.log(
        `\nratio to raw: burst throughput ${Math.round(result.perSecRatio * 100)} %, one-off burst ${Math.round(result.oneOffPerSecRatio * 100)} %, ` +
          `p50 latency x${result.p50Ratio}, p99 x${result.p99Ratio}; burst latency p50 ${result.burstP50Ms} ms, p99 ${result.burstP99Ms} ms`,
      );
      console.log(
        `agent: idle ${result.agentIdleRssMiB} MiB RSS (+${result.agentIdleHelperRssMiB} MiB spawner), ${result.agentIdleCpuPct} % CPU; ` +
          `50 tasks ${result.agent50RssMiB} MiB (+${result.agent50HelperRssMiB} MiB), ${result.agent50CpuPct} % CPU; ` +
          `${result.agentCpuMsPerOneOffTask} ms CPU per one-off task`,
      );
      console.log(`master: ${result.masterCpuMsPerOneOffTask} ms CPU per one-off task`);
      if ('syscallsPerOneOffTask' in result) console.log(`agent syscalls per one-off task: ${JSON.stringify(result.syscallsPerOneOffTask)}`);
      console.log(`drover run --wait -- /bin/true: ${result.runWaitMs} ms (median of ${values['run-wait']})`);
      console.log(`written to ${file}`);
    }
  } finally {
    client.close();
    await cluster.stop();
  }
}

await main();
