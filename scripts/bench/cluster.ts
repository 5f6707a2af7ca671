/**
 * scripts/bench/cluster: how fast a real master gets N instances RUNNING on
 * simulated agents. The master runs as its own process with its SQLite
 * store (durable writes and all); the agents are simulated in another
 * process (agent-simulator.ts) over real gRPC streams and answer launches at
 * once, so the time measured is the master's: RPC, validation, scheduling,
 * persistence of every task and status, acks.
 *
 * Next to it, the pure scheduler's rate for the same placements on the same
 * agents, so the cost of RPC + persistence is visible; and, read from the
 * master's /metrics over the same window, how long its event loop was
 * blocked (p99 and max of the event-loop delay, 10 ms resolution) and the
 * CPU time the master process used (all its threads).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DroverClient } from '@drover/client';
import { scalars } from '@drover/common';
import { AppSpec } from '@drover/proto';
import { type AgentSnapshot, schedule } from '@drover/scheduler';
import { freePort, printTable, round, saveResult } from './bench-support.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    tasks: { type: 'string', default: '20000' },
    apps: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
    // Writes a CPU profile of the master (.cpuprofile) into this directory.
    profile: { type: 'string' },
  },
});
const agents = Number(values.agents);
const tasks = Number(values.tasks);
const apps = Number(values.apps);
const perApp = Math.ceil(tasks / apps);

function start(args: string[], name: string, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', out, out], env: { ...process.env, DROVER_LOG_LEVEL: 'warn' } });
  fs.closeSync(out);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`${name} exited with ${code}; see ${logFile}\n`);
  });
  return child;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function schedulerOnly(): number {
  const snapshotAgents: AgentSnapshot[] = Array.from({ length: agents }, (_, i) => ({
    id: `a${i}`,
    hostname: `sim-${i}`,
    attributes: { rack: `r${i % 10}`, zone: ['a', 'b', 'c'][i % 3] as string },
    total: scalars({ cpus: 16, mem: 65536, disk: 500_000 }),
    free: scalars({ cpus: 16, mem: 65536, disk: 500_000 }),
    freePorts: [{ begin: 31000, end: 32000 }],
    draining: false,
  }));
  const t0 = performance.now();
  let placed = 0;
  for (let a = 0; a < apps; a++) {
    const plan = schedule({ agents: snapshotAgents, placed: new Map() }, [
      { key: `/bench/app-${a}`, appId: `/bench/app-${a}`, count: perApp, resources: scalars({ cpus: 0.01, mem: 8 }), ports: [], constraints: [], strategy: 'binpack' },
    ]);
    placed += plan.placements.length;
  }
  return placed / ((performance.now() - t0) / 1000);
}

/** What the master's /metrics says about its event loop (since the last read) and its CPU time (since start). */
async function masterMetrics(httpPort: number): Promise<{ loopP99Seconds: number; loopMaxSeconds: number; cpuSeconds: number }> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const value = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`the master's /metrics has no ${name}`);
    return Number(line.slice(name.length + 1));
  };
  return {
    loopP99Seconds: value('drover_master_nodejs_eventloop_lag_p99_seconds'),
    loopMaxSeconds: value('drover_master_nodejs_eventloop_lag_max_seconds'),
    cpuSeconds: value('drover_master_process_cpu_seconds_total'),
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-cluster-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const address = `127.0.0.1:${grpcPort}`;
  const tsx = path.resolve('node_modules/.bin/tsx');
  const master = start(
    [process.execPath, ...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values.profile)] : []), 'packages/cli/bin/drover.js', 'master', '--data-dir', path.join(dir, 'master'), '--host', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), '--lost-timeout', '60s'],
    'master',
    path.join(dir, 'master.log'),
  );
  const client = new DroverClient(address, { deadlineMs: 60_000 });
  let simulator: ChildProcess | undefined;
  try {
    await until('the master', async () => (await client.clusterInfo()).version !== '', 30_000);
    simulator = start([tsx, 'scripts/bench/agent-simulator.ts', '--master', address, '--agents', String(agents)], 'simulator', path.join(dir, 'simulator.log'));
    await until(`${agents} agents`, async () => (await client.clusterInfo()).agentsActive >= agents, 120_000, 200);

    // Reading the metrics resets the event-loop histogram: what the second read reports is this window's.
    const before = await masterMetrics(httpPort);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: apps }, (_, a) =>
        client.deployApp(AppSpec.fromPartial({ id: `/bench/app-${a}`, args: ['sleep', '600'], cpus: 0.01, mem: 8, instances: perApp })),
      ),
    );
    await until(
      `${perApp * apps} RUNNING`,
      async () => (await client.listApps()).reduce((n, app) => n + (app.status?.tasksRunning ?? 0), 0) >= perApp * apps,
      600_000,
      50,
    );
    const seconds = (performance.now() - t0) / 1000;
    const after = await masterMetrics(httpPort);
    const result = {
      agents,
      tasks: perApp * apps,
      tasksPerSec: round(perApp * apps / seconds),
      schedulerOnlyPerSec: round(schedulerOnly()),
      seconds: round(seconds, 2),
      eventLoopDelayP99Ms: round(after.loopP99Seconds * 1000, 1),
      eventLoopDelayMaxMs: round(after.loopMaxSeconds * 1000, 1),
      masterCpuSeconds: round(after.cpuSeconds - before.cpuSeconds, 2),
    };
    const file = saveResult('cluster', result);
    if (values.json) console.log(JSON.stringify(result));
    else {
      printTable([
        {
          agents,
          tasks: result.tasks,
          'seconds to all RUNNING': result.seconds,
          'tasks/s end to end': result.tasksPerSec,
          'scheduler only/s': result.schedulerOnlyPerSec,
          'master loop delay p99 ms': result.eventLoopDelayP99Ms,
          'max ms': result.eventLoopDelayMaxMs,
          'master CPU s': result.masterCpuSeconds,
        },
      ]);
      console.log(`written to ${file}`);
    }
  } finally {
    client.close();
    simulator?.kill('SIGKILL');
    // A graceful stop lets --cpu-prof write its profile.
    const exited = new Promise((r) => master.once('exit', r));
    master.kill(values.profile ? 'SIGTERM' : 'SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
