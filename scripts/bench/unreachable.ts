/**
 * scripts/bench/unreachable: how long from an agent going silent to its
 * tasks' replacements RUNNING elsewhere, with the master's defaults (or
 * `--lost-timeout`), on a quiet cluster: a master and agents, each a
 * process of its own, as on real machines.
 *
 * Each trial starts a fresh "victim" agent, deploys `--tasks` instances
 * (they all land on it: it is the only agent with room), then starts a
 * "spare" agent and freezes the victim with SIGSTOP: the victim answers
 * nothing, as in a partition, while its tasks keep running. Measured from
 * the SIGSTOP:
 *   - detected: the first poll (every 20 ms) that shows the victim's tasks
 *     UNREACHABLE;
 *   - replaced: the last replacement's RUNNING, by the spare agent's own
 *     timestamp of the spawn (polling adds no error).
 * Then the victim is thawed, the app deleted and both agents stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DroverClient } from '@drover/client';
import { agentStateCodec, AppSpec, type Task, taskStateCodec } from '@drover/proto';
import { droverBin, freePort, percentile, printTable, round, saveResult } from './bench-support.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '5' },
    tasks: { type: 'string', default: '8' },
    'lost-timeout': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const trials = Number(values.trials);
const instances = Number(values.tasks);
const env = { ...process.env, DROVER_LOG_LEVEL: 'warn' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stateOf = (t: Task) => taskStateCodec.name(t.state);

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-unreachable-'));
  const grpcPort = await freePort();
  const address = `127.0.0.1:${grpcPort}`;
  const bin = droverBin();
  // Each process logs (warnings and up) to a file of its own, shown when a trial fails.
  const logOf = (name: string) => path.join(dataDir, `${name}.log`);
  const stdio = (name: string): ['ignore', number, number] => {
    const fd = fs.openSync(logOf(name), 'a');
    return ['ignore', fd, fd];
  };
  const lostTimeout = values['lost-timeout'] === undefined ? [] : ['--lost-timeout', values['lost-timeout']];
  const master = spawn(
    process.execPath,
    [bin, 'master', '--data-dir', path.join(dataDir, 'master'), '--host', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(await freePort()), ...lostTimeout],
    { stdio: stdio('master'), env },
  );
  const client = new DroverClient(address);
  const agent = (name: string, ports: string) =>
    spawn(process.execPath, [bin, 'agent', '--master', address, '--work-dir', path.join(dataDir, name), '--hostname', name, '--address', '127.0.0.1', '--resources', `cpus=4,mem=4096,disk=1024,ports=${ports}`], {
      stdio: stdio(name),
      env,
    });
  const active = (hostname: string) =>
    until(`${hostname} ACTIVE`, () => client.listAgents(), (as) => as.some((a) => a.hostname === hostname && agentStateCodec.name(a.state) === 'ACTIVE'));
  const rows: Array<{ trial: number; detectedMs: number; replacedMs: number }> = [];
  const children: ChildProcess[] = [master];
  let failed = false;
  try {
    await until('the master', () => client.listAgents().then(() => true, () => false), (ok) => ok);
    for (let trial = 1; trial <= trials; trial++) {
      const victimName = `victim-${trial}`;
      const spareName = `spare-${trial}`;
      const victim = agent(victimName, `${33000 + trial * 200}-${33099 + trial * 200}`);
      children.push(victim);
      await active(victimName);
      const appId = `/bench/unreachable-${trial}`;
      await client.deployApp(AppSpec.fromPartial({ id: appId, args: ['sleep', '600'], cpus: 0.01, mem: 1, instances, portDefinitions: [] }));
      await until(`${instances} RUNNING on ${victimName}`, () => client.listTasks({ appId }), (ts) => ts.filter((t) => stateOf(t) === 'RUNNING').length === instances);
      const spare = agent(spareName, `${33100 + trial * 200}-${33199 + trial * 200}`);
      children.push(spare);
      await active(spareName);
      // Let the spare's first usage sample and pings settle: the cluster is quiet when the victim freezes.
      await sleep(1000);

      const frozenAt = Date.now();
      victim.kill('SIGSTOP');
      let detectedAt = 0;
      const replaced = await until(
        `${instances} replacements RUNNING on ${spareName}`,
        async () => {
          const ts = await client.listTasks({ appId });
          if (detectedAt === 0 && ts.some((t) => stateOf(t) === 'UNREACHABLE')) detectedAt = Date.now();
          return ts;
        },
        (ts) => ts.filter((t) => t.host === spareName && stateOf(t) === 'RUNNING').length === instances,
      ).catch(async (error: unknown) => {
        const { tasks, waiting } = await client.taskOverview({ appId });
        const agents = await client.listAgents();
        console.error({
          tasks: tasks.map((t) => `${t.host} ${stateOf(t)} ${t.message}`),
          waiting: waiting.map((w) => `${w.instances}: ${w.explanation?.summary}`),
          agents: agents.map((a) => `${a.hostname} ${agentStateCodec.name(a.state)} seen ${a.lastSeenAt?.toISOString()}`),
        });
        throw error;
      });
      const lastRunning = Math.max(...replaced.filter((t) => t.host === spareName).map((t) => t.startedAt?.getTime() ?? Date.now()));
      rows.push({ trial, detectedMs: detectedAt - frozenAt, replacedMs: lastRunning - frozenAt });
      if (!values.json) console.log(`trial ${trial}: UNREACHABLE after ${detectedAt - frozenAt} ms, ${instances} replacements RUNNING after ${lastRunning - frozenAt} ms`);

      victim.kill('SIGCONT');
      await client.deleteApp(appId, { force: true });
      await until(`${appId}'s tasks to end`, () => client.listTasks({ appId }), (ts) => ts.length === 0);
      await Promise.all([stop(victim), stop(spare)]);
    }
  } catch (error) {
    failed = true;
    for (const file of fs.readdirSync(dataDir).filter((f) => f.endsWith('.log'))) {
      console.error(`--- ${file} ---\n${fs.readFileSync(path.join(dataDir, file), 'utf8').slice(-3000)}`);
    }
    throw error;
  } finally {
    client.close();
    for (const child of children.reverse()) {
      child.kill('SIGCONT');
      await stop(child);
    }
    if (!failed) fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const detected = rows.map((r) => r.detectedMs);
  const replaced = rows.map((r) => r.replacedMs);
  const summary = {
    trials,
    tasks: instances,
    lostTimeout: values['lost-timeout'] ?? 'default',
    detectedMs: { p50: round(percentile(detected, 50), 0), p99: round(percentile(detected, 99), 0), max: Math.max(...detected) },
    replacedMs: { p50: round(percentile(replaced, 50), 0), p99: round(percentile(replaced, 99), 0), max: Math.max(...replaced) },
    rows,
  };
  const file = saveResult('unreachable', summary);
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  printTable([
    { what: 'agent silent -> tasks UNREACHABLE', p50: `${summary.detectedMs.p50} ms`, p99: `${summary.detectedMs.p99} ms` },
    { what: `agent silent -> ${instances} replacements RUNNING`, p50: `${summary.replacedMs.p50} ms`, p99: `${summary.replacedMs.p99} ms` },
  ]);
  console.log(`(${trials} trials, lost timeout ${summary.lostTimeout}; written to ${file})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
