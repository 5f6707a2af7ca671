/**
 * Placement features end to end: a real master and two real agents in this
 * process, driven through the built `drover` CLI.
 */
import type { DroverClient } from '@drover/client';
import { AppSpec, type Task, taskStateCodec } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drover, requireBuiltCli } from '../support/drover-process.js';
import { type InProcessCluster, startInProcessCluster } from '../support/in-process-cluster.js';
import { alive, waitFor } from '../support/wait.js';

let cluster: InProcessCluster;
let client: DroverClient;
const cli = (...args: string[]) => drover(args, { DROVER_MASTER: cluster.master.grpcAddress });
const running = (ts: Task[]) => ts.filter((t) => taskStateCodec.name(t.state) === 'RUNNING');

beforeAll(async () => {
  requireBuiltCli();
  cluster = await startInProcessCluster('placement', [
    { hostname: 'alpha', ports: { begin: 32500, end: 32549 }, mem: 1024, attributes: { rack: 'r1' } },
    { hostname: 'beta', ports: { begin: 32550, end: 32599 }, mem: 1024, attributes: { rack: 'r2' } },
  ]);
  client = cluster.client;
});

afterAll(async () => {
  await cluster?.stop();
});

describe('placement through the CLI', () => {
  it('drover run --wait runs a one-off task once and exits with its exit code', async () => {
    const result = await cli('run', '--wait', '--constraint', 'rack:IS:r2', '--', 'sh', '-c', 'echo out; echo oops >&2; exit 3');
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toMatch(/RUNNING/);
    expect(result.stdout).toMatch(/FAILED\s+exited with code 3/);
    const id = /started task (\S+)/.exec(result.stdout)?.[1] ?? '';
    const task = await client.getTask(id);
    expect(task).toMatchObject({ host: 'beta', appId: '', exitCode: 3 });
    // Never restarted: nothing else of it runs a second later.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await client.listTasks({})).filter((t) => t.id.startsWith('run.'))).toEqual([]);
  });

  it('an impossible one-off task waits with the reason shown', async () => {
    const result = await cli('run', '--mem', '99999', '--', 'true');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/PENDING/);
    expect(result.stdout).toContain('2 agents: insufficient mem (need 99999 MiB, most free 1024 MiB)');
    const id = /started task (\S+)/.exec(result.stdout)?.[1] ?? '';
    expect((await cli('task', 'kill', id)).code).toBe(0);
    expect(taskStateCodec.name((await client.getTask(id)).state)).toBe('KILLED');
  });

  it('shows why a crashing app is delayed, with its last stderr', async () => {
    await client.deployApp(AppSpec.fromPartial({ id: 'crasher', cmd: 'echo "db unreachable" >&2; exit 1', cpus: 0.1, mem: 16, backoffSeconds: 30 }));
    const app = await waitFor('a recorded failure', () => client.getApp('crasher'), (a) => a.status?.lastTaskFailure !== undefined);
    expect(app.status?.lastTaskFailure).toMatchObject({ exitCode: 1, stderrTail: 'db unreachable\n', state: 'FAILED' });
    const shown = await cli('app', 'get', 'crasher');
    expect(shown.stdout).toContain('db unreachable');
    expect(shown.stdout).toMatch(/Launch delay:\s+30s \(1 consecutive failure/);
    const tasks = await cli('task', 'list', '--app', 'crasher');
    expect(tasks.stdout + tasks.stderr).toMatch(/launch delayed/);
    // A crash-looping app's deployment never succeeds: deleting it replaces that deployment.
    expect((await client.getApp('crasher')).status?.deployments).toHaveLength(1);
    await client.deleteApp('crasher', { force: true });
  });

  it('drain moves an app off an agent, RUNNING elsewhere before the old tasks die', async () => {
    await client.deployApp(AppSpec.fromPartial({ id: 'mover', cmd: 'exec sleep 600', cpus: 0.2, mem: 32, instances: 2, portDefinitions: [] }));
    const before = await waitFor('2 RUNNING', () => client.listTasks({ appId: 'mover' }), (ts) => running(ts).length === 2);
    const host = before[0]?.host ?? '';
    const from = (await client.listAgents()).find((a) => a.hostname === host);
    const onFrom = before.filter((t) => t.host === host);
    const drained = await cli('agent', 'drain', from?.id ?? '', '--deadline', '60s');
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(/^draining agent /);
    const after = await waitFor(
      'the app RUNNING off the drained agent',
      () => client.listTasks({ appId: 'mover' }),
      (ts) => ts.length === 2 && running(ts).length === 2 && ts.every((t) => t.host !== host),
      20_000,
    );
    expect(after.map((t) => t.id)).not.toEqual(expect.arrayContaining(onFrom.map((t) => t.id)));
    await waitFor('old processes gone', () => onFrom.filter((t) => alive(t.pid)), (left) => left.length === 0, 10_000);
    const listed = await cli('agent', 'list');
    expect(listed.stdout).toMatch(/draining/);
    expect((await cli('agent', 'undrain', from?.id ?? '')).code).toBe(0);
    await client.deleteApp('mover');
  });
});
