/**
 * scripts/bench/failover: how long a Drover cluster cannot take changes when
 * its leader dies, and whether the failover restarts anything. Three etcd
 * members, three masters (`drover master --etcd`, default lease TTL 2 s)
 * and one agent running `--tasks` instances, each a process of its own.
 *
 * Each trial kill -9s the leader, then writes through a client given every
 * master (a deploy of a tiny app with zero instances) until one succeeds:
 * "write available" is from the kill to that success, as a client sees it.
 * Then the killed master is started again (it rejoins as a standby) and the
 * tasks are compared: a task that changed id or pid counts as a restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DroverClient } from '@drover/client';
import { AppSpec, taskStateCodec } from '@drover/proto';
import { EtcdCluster } from '../../packages/common/src/testing/etcd-cluster.js';
import { ETCD_MEMBER_FLAGS } from '../../packages/master/src/store/etcd-limits.js';
import { droverBin, freePort, percentile, printTable, round, saveResult } from './bench-support.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '10' },
    tasks: { type: 'string', default: '10' },
    'lease-ttl': { type: 'string', default: '2s' },
  },
});
const trials = Number(values.trials);
const instances = Number(values.tasks);
const env = { ...process.env, DROVER_LOG_LEVEL: 'warn' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Master {
  readonly grpc: string;
  readonly http: string;
  readonly args: string[];
  child?: ChildProcess;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-failover-'));
const etcd = await EtcdCluster.start({ members: 3, extraArgs: ETCD_MEMBER_FLAGS });
const masters: Master[] = [];
const children: ChildProcess[] = [];
const start = (args: string[], log: string): ChildProcess => {
  const out = fs.openSync(path.join(root, log), 'a');
  const child = spawn(process.execPath, [droverBin(), ...args], { stdio: ['ignore', out, out], env });
  fs.closeSync(out);
  children.push(child);
  return child;
};
for (let i = 0; i < 3; i++) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const args = ['master', '--host', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), '--etcd', etcd.endpoints.join(','), '--lease-ttl', String(values['lease-ttl'])];
  const m: Master = { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}`, args };
  m.child = start(args, `master-${i}.log`);
  masters.push(m);
}
const list = masters.map((m) => m.grpc);
start(['agent', '--master', list.join(','), '--work-dir', path.join(root, 'agent'), '--hostname', 'bench-agent', '--resources', `cpus=${instances},mem=${instances * 64},disk=1024,ports=33000-33099`], 'agent.log');
const client = new DroverClient(list, { deadlineMs: 2000 });

async function leader(): Promise<Master | undefined> {
  for (const m of masters) {
    try {
      const res = await fetch(`http://${m.http}/v2/leader`, { signal: AbortSignal.timeout(500) });
      if (res.status !== 200) continue;
      const http = ((await res.json()) as { leader: string }).leader;
      return masters.find((x) => x.http === http);
    } catch {
      // down or between roles
    }
  }
  return undefined;
}

async function runningTasks(): Promise<Map<string, number>> {
  const tasks = await client.listTasks({ appId: 'bench-web' });
  return new Map(tasks.filter((t) => taskStateCodec.name(t.state) === 'RUNNING').map((t) => [t.id, t.pid]));
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (ok(v)) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const results: { trial: number; writeAvailableMs: number; restarts: number }[] = [];
try {
  await until('a leader', leader, (m) => m !== undefined);
  await until('the agent', () => client.listAgents(), (as) => as.length === 1);
  await client.deployApp(AppSpec.fromPartial({ id: '/bench-web', cmd: 'sleep 3600', cpus: 0.5, mem: 32, instances }));
  await until('every instance running', runningTasks, (ts) => ts.size === instances);
  for (let trial = 1; trial <= trials; trial++) {
    const before = await until('every instance running', runningTasks, (ts) => ts.size === instances);
    const victim = (await until('a leader', leader, (m) => m !== undefined)) as Master;
    const killedAt = Date.now();
    victim.child?.kill('SIGKILL');
    await until(
      'a write accepted',
      () => client.deployApp(AppSpec.fromPartial({ id: '/bench-probe', cmd: 'true', instances: 0, env: { TRIAL: String(trial) } })),
      () => true,
    );
    const writeAvailableMs = Date.now() - killedAt;
    victim.child = start(victim.args, `master-restarted-${trial}.log`);
    const after = await until('the tasks under the new leader', runningTasks, (ts) => ts.size === instances);
    const restarts = [...before].filter(([id, pid]) => after.get(id) !== pid).length;
    results.push({ trial, writeAvailableMs, restarts });
    console.log(`trial ${trial}: write available after ${writeAvailableMs} ms, ${restarts} restarts`);
    await sleep(500);
  }
} finally {
  await client.deleteApp('/bench-web', { force: true }).catch(() => undefined);
  await sleep(1000);
  client.close();
  for (const c of children) c.kill('SIGTERM');
  await sleep(500);
  await etcd.stop();
}

const times = results.map((r) => r.writeAvailableMs);
const summary = {
  trials: results.length,
  leaseTtl: values['lease-ttl'],
  tasks: instances,
  writeAvailableMs: { p50: round(percentile(times, 50), 0), p99: round(percentile(times, 99), 0), max: Math.max(...times) },
  taskRestarts: results.reduce((n, r) => n + r.restarts, 0),
  perTrial: results,
};
printTable([{ metric: 'leader kill -9 -> write accepted, p50 ms', value: summary.writeAvailableMs.p50 }, { metric: 'p99 ms', value: summary.writeAvailableMs.p99 }, { metric: 'task restarts caused', value: summary.taskRestarts }]);
console.log(`wrote ${saveResult('failover', summary)}`);
process.exit(0);
