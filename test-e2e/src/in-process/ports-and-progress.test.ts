/**
 * Ports and progress that tell the truth, with a real master, a real agent
 * and real processes: the agent never hands out a host port another process
 * listens on (known when it registers, or taken later), a task that dies at
 * start (EADDRINUSE) never counts as new and healthy, and a redeploy after a
 * scale neither shows more new healthy instances than it targets nor hides
 * the scale from the versions.
 */
import net from 'node:net';
import type { DroverClient } from '@drover/client';
import { AppSpec, type Deployment, deploymentStateCodec, type Task, taskStateCodec } from '@drover/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessCluster, startInProcessCluster } from '../support/in-process-cluster.js';
import { waitFor } from '../support/wait.js';

let cluster: InProcessCluster;
let client: DroverClient;
/** The agent offers `base` .. `base + 5`; another process listens on `base` from the start. */
let base: number;
const servers = new Set<net.Server>();

/** A listener that is not a Drover task, as another program on the machine would be. */
async function listen(port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '0.0.0.0', () => resolve()));
  servers.add(server);
  return server;
}

async function close(server: net.Server): Promise<void> {
  servers.delete(server);
  await new Promise((r) => server.close(r));
}

const stateOf = (t: Task) => taskStateCodec.name(t.state);
const portOf = (t: Task) => t.ports[0]?.number ?? 0;
const live = (tasks: Task[]) => tasks.filter((t) => ['STAGING', 'STARTING', 'RUNNING', 'KILLING'].includes(stateOf(t) ?? ''));

function server(id: string, instances: number): AppSpec {
  return AppSpec.fromPartial({
    id,
    cmd: `exec node -e "require('http').createServer((q,s)=>s.end('ok')).listen(process.env.PORT0)"`,
    cpus: 0.05,
    mem: 32,
    instances,
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }],
  });
}

beforeAll(async () => {
  // A range of our own, picked at random: other suites may run on this machine at the same time.
  let first: net.Server | undefined;
  for (let attempt = 0; first === undefined; attempt++) {
    base = 33_000 + 10 * Math.floor(Math.random() * 90);
    first = await listen(base).catch((e: unknown) => {
      if (attempt > 20) throw e;
      return undefined;
    });
  }
  cluster = await startInProcessCluster('ports-and-progress', [
    { hostname: 'ports-host', cpus: 2, mem: 2048, ports: { begin: base, end: base + 5 }, options: { usageIntervalMs: 200 } },
  ]);
  client = cluster.client;
});

afterEach(async () => {
  for (const app of await client.listApps()) await client.deleteApp(app.spec?.id ?? '', { force: true });
});

afterAll(async () => {
  await cluster?.stop();
  for (const s of [...servers]) await close(s);
});

describe('host ports in use', () => {
  it('no task gets a port another process listens on, whether it did at registration or started later', async () => {
    // Every port a task was ever given, with when it was staged.
    const given: Array<{ port: number; stagedAt: number }> = [];
    const watching = new AbortController();
    void client
      .watchEvents(
        { types: ['status_update_event'] },
        (e) => {
          const t = e.payload?.$case === 'taskStatus' ? e.payload.value.task : undefined;
          if (t?.appId === '/web') given.push({ port: portOf(t), stagedAt: t.stagedAt?.getTime() ?? 0 });
        },
        watching.signal,
      )
      .catch(() => undefined);

    await client.deployApp(server('web', 4));
    let tasks = await waitFor('4 running tasks', () => client.listTasks({ appId: 'web' }), (ts) => ts.filter((t) => stateOf(t) === 'RUNNING').length === 4, 20_000);
    expect(tasks.map(portOf)).not.toContain(base);
    const agentId = cluster.agents[0]?.id ?? '';
    expect((await client.getAgent(agentId)).foreignPorts).toEqual([{ begin: base, end: base }]);

    // Another program takes the one port left: the agent's next sample says so.
    const [left] = [1, 2, 3, 4, 5].map((i) => base + i).filter((p) => !tasks.map(portOf).includes(p)) as [number];
    const late = await listen(left);
    await waitFor(`port ${left} reported in use`, () => client.getAgent(agentId), (a) => a.foreignPorts.some((r) => r.begin <= left && left <= r.end));
    await client.scaleApp('web', 5, { force: true });
    const app = await waitFor('the fifth instance to wait for a port', () => client.getApp('web'), (a) => (a.status?.waiting?.summary ?? '').includes('insufficient ports'), 10_000);
    expect(app.status?.waiting?.summary).toBe('1 agent: insufficient ports (need 1 ports, most free 0 ports)');
    tasks = await client.listTasks({ appId: 'web' });
    expect(live(tasks)).toHaveLength(4);

    // Once the other program is gone, the port is offered again.
    await close(late);
    const freedAt = Date.now();
    tasks = await waitFor('5 running tasks', () => client.listTasks({ appId: 'web' }), (ts) => ts.filter((t) => stateOf(t) === 'RUNNING').length === 5, 20_000);
    expect(tasks.map(portOf).sort()).toEqual([1, 2, 3, 4, 5].map((i) => base + i));
    watching.abort();
    expect(given.length).toBeGreaterThanOrEqual(5);
    expect(given.filter((g) => g.port === base)).toEqual([]);
    expect(given.filter((g) => g.port === left && g.stagedAt < freedAt)).toEqual([]);
    const ever = await client.listTasks({ appId: 'web', includeEnded: true });
    expect(ever.filter((t) => stateOf(t) === 'FAILED')).toEqual([]);
  });
});

describe('deployment progress', () => {
  it('never counts a task that failed (EADDRINUSE) as new and healthy: the deployment waits, the task is replaced with backoff', async () => {
    // Outside the agent's ranges, so nothing keeps the task from trying: this one binds a port that is taken.
    const taken = await listen(0);
    const port = (taken.address() as net.AddressInfo).port;
    const views: Deployment[] = [];
    const watching = new AbortController();
    const changed = await client.deployApp(
      AppSpec.fromPartial({
        id: 'clash',
        cmd: `exec node -e "require('http').createServer().listen(${port})"`,
        cpus: 0.05,
        mem: 32,
        instances: 2,
        portDefinitions: [],
        backoffSeconds: 0.5,
      }),
    );
    const id = changed.deployment?.id ?? '';
    views.push(changed.deployment as Deployment);
    void client
      .watchEvents(
        { types: ['deployment_info', 'deployment_success', 'deployment_failed'] },
        (e) => {
          if (e.payload?.$case === 'deployment' && e.payload.value.deployment?.id === id) views.push(e.payload.value.deployment);
        },
        watching.signal,
      )
      .catch(() => undefined);
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      views.push(await client.getDeployment(id));
      await new Promise((r) => setTimeout(r, 50));
    }
    watching.abort();

    expect(views.length).toBeGreaterThan(50);
    expect(views.map((d) => d.progress?.newHealthy ?? -1).filter((n) => n !== 0)).toEqual([]);
    expect(views.map((d) => deploymentStateCodec.name(d.state)).filter((s) => s !== 'RUNNING')).toEqual([]);
    const app = await client.getApp('clash');
    expect(app.status?.lastTaskFailure?.stderrTail).toContain('EADDRINUSE');
    expect(app.status?.consecutiveFailures).toBeGreaterThanOrEqual(2);
    const failed = (await client.listTasks({ appId: 'clash', includeEnded: true })).filter((t) => stateOf(t) === 'FAILED');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    await close(taken);
  });

  it('redeploying the file after a scale: the versions show the instances that run, and progress never exceeds the target', async () => {
    const file = AppSpec.fromPartial({ id: 'sleeper', cmd: 'exec sleep 600', cpus: 0.05, mem: 32, instances: 2, portDefinitions: [] });
    const views: Deployment[] = [];
    const follow = async (d: Deployment | undefined): Promise<Deployment> => {
      if (d) views.push(d);
      return waitFor(
        `deployment ${d?.id} to succeed`,
        async () => {
          const now = await client.getDeployment(d?.id ?? '');
          views.push(now);
          return now;
        },
        (now) => deploymentStateCodec.name(now.state) === 'SUCCEEDED',
        20_000,
        100,
      );
    };
    const created = await client.deployApp(file);
    await follow(created.deployment);
    const v1 = (await client.getApp('sleeper')).version;

    const scaled = await client.scaleApp('sleeper', 3);
    await follow(scaled.deployment);
    const versions = await client.appVersions('sleeper');
    expect(versions.map((v) => [v.spec?.instances, v.configVersion])).toEqual([
      [3, v1],
      [2, ''],
    ]);
    expect(await client.getApp('sleeper')).toMatchObject({ version: versions[0]?.version, lastConfigChangeAt: v1, spec: { instances: 3 } });

    const redeployed = await client.deployApp(file);
    expect(redeployed.deployment?.progress).toMatchObject({ targetInstances: 2, newHealthy: 2, surplusRemaining: 1 });
    await follow(redeployed.deployment);
    for (const d of views) {
      expect(d.progress?.newHealthy).toBeLessThanOrEqual(d.progress?.targetInstances ?? 0);
      expect(d.progress?.newLive).toBeLessThanOrEqual(d.progress?.targetInstances ?? 0);
    }
    const after = await client.appVersions('sleeper');
    expect(after.map((v) => v.spec?.instances)).toEqual([2, 3, 2]);
    expect((await client.getApp('sleeper')).version).toBe(after[0]?.version);
    expect(live(await client.listTasks({ appId: 'sleeper' }))).toHaveLength(2);

    // The same file without `instances` keeps whatever count the app has: nothing to do.
    await client.scaleApp('sleeper', 3);
    const again = await client.deployApp({ ...file, instances: undefined });
    expect(again.deployment).toBeUndefined();
    expect(again.app.spec?.instances).toBe(3);
  });
});
