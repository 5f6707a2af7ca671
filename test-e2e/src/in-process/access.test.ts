/**
 * Who may do what, with real certificates from scripts/gen-certs, a real
 * master and real agents running a real process: every caller that must be
 * refused is refused, on gRPC and on REST, and the cluster is left exactly
 * as it was (same apps, same tasks, same pids, no agent added or lost).
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { type RunningAgent, startAgent } from '@drover/agent';
import { DroverClient } from '@drover/client';
import { channelCredentials, Code, DroverError, loadTls, silentLogger, type TlsMaterial } from '@drover/common';
import { type RunningMaster, startMaster } from '@drover/master';
import { agentStateCodec, AppSpec, taskStateCodec } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/drover-process.js';
import { type InProcessCluster, startInProcessCluster } from '../support/in-process-cluster.js';
import { register, sendRegister } from '../support/raw-register.js';
import { tempDir } from '../support/temp-dir.js';
import { alive, waitFor } from '../support/wait.js';

const run = promisify(execFile);

let root: string;
let certs: string;
let master: RunningMaster;
let agent: RunningAgent;
let client: DroverClient;
let agentId: string;
let pid: number;

/** The TLS material of one holder ("client", "master", "agent-node-1", ...) in `dir`. */
const material = (holder: string, dir = certs): TlsMaterial =>
  loadTls({ ca: path.join(certs, 'ca.crt'), cert: path.join(dir, `${holder}.crt`), key: path.join(dir, `${holder}.key`) }) as TlsMaterial;
const credentialsOf = (holder: string) => channelCredentials(material(holder));

/** Apps, tasks and agents as a client sees them: what a refused caller must not change. */
async function view(c: DroverClient): Promise<unknown> {
  const apps = (await c.listApps()).map((a) => ({ id: a.spec?.id, instances: a.spec?.instances, version: a.version }));
  const tasks = (await c.listTasks({ includeEnded: true })).map((t) => ({ id: t.id, state: taskStateCodec.name(t.state), pid: t.pid, agentId: t.agentId }));
  const agents = (await c.listAgents()).map((a) => ({ id: a.id, hostname: a.hostname, state: agentStateCodec.name(a.state) }));
  return { apps, tasks, agents };
}

/** Gives anything a refused call might have set off time to happen, then checks it did not. */
async function expectUnchanged(c: DroverClient, before: unknown, taskPid: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  expect(await view(c)).toEqual(before);
  expect(alive(taskPid)).toBe(true);
}

/** One HTTPS request to the master, with the client certificate of `holder` (none when undefined). */
function rest(method: string, url: string, holder?: { cert: Buffer; key: Buffer }, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: master.httpPort,
        path: url,
        method,
        ca: fs.readFileSync(path.join(certs, 'ca.crt')),
        servername: 'localhost',
        ...(holder ?? {}),
        // A fresh connection per request: no TLS session carries over between holders.
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    // An event stream the master wrongly opened would never end.
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${url}: no complete answer in 5 s`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The gRPC code a client call failed with. */
async function codeOf(call: Promise<unknown>): Promise<Code | 'ok'> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    return error instanceof DroverError ? error.code : Code.Unknown;
  }
}

const INTRUDER = { id: '/access/intruder', cmd: 'id > /tmp/drover-intruder', cpus: 0.1, mem: 16, instances: 1 };

beforeAll(async () => {
  root = tempDir('access');
  certs = path.join(root, 'certs');
  await run('bash', [path.join(REPO, 'scripts/gen-certs'), certs, '--agent', 'node-1', '--agent', 'node-2']);
  await run('bash', [path.join(REPO, 'scripts/gen-certs'), path.join(root, 'foreign')]);
  master = await startMaster({
    dataDir: path.join(root, 'master'),
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    tls: material('master'),
    logger: silentLogger(),
  });
  agent = await startAgent({
    master: master.grpcAddress,
    tls: material('agent-node-1'),
    workDir: path.join(root, 'node-1'),
    hostname: 'node-1',
    resources: { cpus: 2, mem: 1024, disk: 1024, ports: [{ begin: 32600, end: 32619 }] },
    logger: silentLogger(),
  });
  agentId = await agent.registered();
  client = new DroverClient(master.grpcAddress, { credentials: credentialsOf('client') });
  await client.deployApp(AppSpec.fromPartial({ id: '/access/app', cmd: 'exec sleep 600', cpus: 0.1, mem: 16, instances: 1 }));
  const [task] = await waitFor('the task to run', () => client.listTasks({ appId: '/access/app' }), (ts) => ts.some((t) => taskStateCodec.name(t.state) === 'RUNNING'));
  pid = task?.pid ?? 0;
  expect(alive(pid)).toBe(true);
});

afterAll(async () => {
  client?.close();
  await agent?.stop({ killTasks: true });
  await master?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('access under mutual TLS', () => {
  it('gen-certs puts each role into its certificates, keeps the CA key out of the copied dir, and reuses the CA later', async () => {
    expect(fs.readdirSync(certs).sort()).toEqual(
      ['agent-node-1.crt', 'agent-node-1.key', 'agent-node-2.crt', 'agent-node-2.key', 'ca.crt', 'client.crt', 'client.key', 'master.crt', 'master.key'],
    );
    expect(fs.existsSync(`${certs}-ca/ca.key`)).toBe(true);
    const subject = (file: string) => new X509Certificate(fs.readFileSync(path.join(certs, file))).subject.split('\n');
    expect(subject('master.crt')).toEqual(['O=drover', 'OU=master', 'CN=drover-master']);
    expect(subject('client.crt')).toEqual(['O=drover', 'OU=client', 'CN=drover-client']);
    expect(subject('agent-node-1.crt')).toEqual(['O=drover', 'OU=agent', 'CN=node-1']);

    await run('bash', [path.join(REPO, 'scripts/gen-certs'), certs, '--agent', 'node-3']);
    const ca = new X509Certificate(fs.readFileSync(path.join(certs, 'ca.crt')));
    const later = new X509Certificate(fs.readFileSync(path.join(certs, 'agent-node-3.crt')));
    expect(later.verify(ca.publicKey)).toBe(true);
    expect(new X509Certificate(fs.readFileSync(path.join(certs, 'master.crt'))).verify(ca.publicKey)).toBe(true);
    expect(fs.existsSync(path.join(certs, 'ca.key'))).toBe(false);
  });

  it('HTTPS answers /ping to anyone, and 401 to every other request without a certificate from the cluster CA', async () => {
    const before = await view(client);
    expect(await rest('GET', '/ping')).toEqual({ status: 200, text: 'pong' });

    const foreign = material('client', path.join(root, 'foreign'));
    for (const who of [undefined, { cert: foreign.cert, key: foreign.key }]) {
      const answers = [
        await rest('POST', '/v2/apps', who, INTRUDER),
        await rest('GET', '/v2/apps', who),
        await rest('GET', '/v2/apps/access/app', who),
        await rest('DELETE', '/v2/apps/access/app?force=true', who),
        await rest('GET', '/v2/tasks', who),
        await rest('GET', '/v2/events', who),
        await rest('GET', '/metrics', who),
        await rest('GET', '/nothing-here', who),
      ];
      expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 401, 401, 401]);
      expect(JSON.parse(answers[0]?.text ?? '{}')).toEqual({ message: "POST /v2/apps needs a client certificate from the cluster's CA" });
    }
    await expectUnchanged(client, before, pid);

    // The same requests work for the holders they are meant for.
    for (const holder of ['client', 'master']) {
      const listed = await rest('GET', '/v2/apps', material(holder));
      expect(listed.status).toBe(200);
      expect(JSON.parse(listed.text).apps.map((a: { id: string }) => a.id)).toEqual(['/access/app']);
    }
    expect((await rest('GET', '/metrics', material('client'))).status).toBe(200);
  });

  it('refuses an agent certificate on the client APIs: REST 403, gRPC PERMISSION_DENIED', async () => {
    const before = await view(client);
    const asAgent = material('agent-node-1');
    const answers = [
      await rest('POST', '/v2/apps', asAgent, INTRUDER),
      await rest('GET', '/v2/apps', asAgent),
      await rest('DELETE', '/v2/apps/access/app?force=true', asAgent),
      await rest('GET', '/metrics', asAgent),
    ];
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403]);
    expect(JSON.parse(answers[0]?.text ?? '{}').message).toBe(
      'certificate "node-1" (role agent) may not POST /v2/apps: that needs role client or master',
    );

    const agentClient = new DroverClient(master.grpcAddress, { credentials: credentialsOf('agent-node-1') });
    try {
      const codes = [
        await codeOf(agentClient.deployApp(AppSpec.fromPartial(INTRUDER))),
        await codeOf(agentClient.deleteApp('/access/app', { force: true })),
        await codeOf(agentClient.scaleApp('/access/app', 5)),
        await codeOf(agentClient.killTask((await client.listTasks())[0]?.id ?? '')),
        await codeOf(agentClient.listApps()),
        await codeOf(agentClient.clusterInfo()),
      ];
      expect(codes).toEqual(Array(codes.length).fill(Code.PermissionDenied));
    } finally {
      agentClient.close();
    }
    await expectUnchanged(client, before, pid);
  });

  it('refuses client and master certificates on AgentService.Connect', async () => {
    const before = await view(client);
    for (const holder of ['client', 'master']) {
      for (const reg of [register({ agentId, hostname: 'node-1' }), register({ hostname: 'drover-client' })]) {
        const answer = await sendRegister(master.grpcAddress, credentialsOf(holder), reg);
        expect(answer).toMatchObject({ registered: false, code: Code.PermissionDenied });
      }
    }
    await expectUnchanged(client, before, pid);
  });

  it("refuses node-2's certificate registering with node-1's agent id", async () => {
    const before = await view(client);
    for (const hostname of ['node-2', 'node-1']) {
      const answer = await sendRegister(master.grpcAddress, credentialsOf('agent-node-2'), register({ agentId, hostname }));
      expect(answer).toMatchObject({ registered: false, code: Code.PermissionDenied });
    }
    await expectUnchanged(client, before, pid);
    // The certificate itself is good: it registers node-2 as a new agent.
    const fresh = await sendRegister(master.grpcAddress, credentialsOf('agent-node-2'), register({ hostname: 'node-2' }));
    expect(fresh).toMatchObject({ registered: true });
    expect((fresh as { agentId: string }).agentId).not.toBe(agentId);
  });

  it('refuses a second session of a connected agent, even with its own certificate and secret', async () => {
    const before = await view(client);
    const { secret } = JSON.parse(fs.readFileSync(path.join(root, 'node-1', 'agent-id.json'), 'utf8')) as { secret: string };
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const answer = await sendRegister(master.grpcAddress, credentialsOf('agent-node-1'), register({ agentId, agentSecret: secret, hostname: 'node-1' }));
    expect(answer).toMatchObject({ registered: false, code: Code.AlreadyExists });
    await expectUnchanged(client, before, pid);
  });
});

describe('agent identity over plaintext', () => {
  let cluster: InProcessCluster;

  beforeAll(async () => {
    cluster = await startInProcessCluster('access-plain', [{ hostname: 'plain-1', ports: { begin: 32620, end: 32639 } }]);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('refuses a known agent id without its secret, and a second session with it; the agent itself gets back in after a restart', async () => {
    const c = cluster.client;
    await c.deployApp(AppSpec.fromPartial({ id: '/plain/app', cmd: 'exec sleep 600', cpus: 0.1, mem: 16, instances: 1 }));
    const [task] = await waitFor('the task to run', () => c.listTasks({ appId: '/plain/app' }), (ts) => ts.some((t) => taskStateCodec.name(t.state) === 'RUNNING'));
    const taskPid = task?.pid ?? 0;
    const real = cluster.agents[0] as RunningAgent;
    const id = real.id ?? '';
    const idFile = path.join(cluster.root, 'plain-1', 'agent-id.json');
    const { secret } = JSON.parse(fs.readFileSync(idFile, 'utf8')) as { secret: string };
    expect(fs.statSync(idFile).mode & 0o777).toBe(0o600);
    const plaintext = channelCredentials(undefined);
    const address = cluster.master.grpcAddress;
    const attempt = (agentSecret: string) => sendRegister(address, plaintext, register({ agentId: id, agentSecret, hostname: 'plain-1' }));

    const before = await view(c);
    expect(await attempt('')).toMatchObject({ registered: false, code: Code.Unauthenticated });
    expect(await attempt('guessed')).toMatchObject({ registered: false, code: Code.Unauthenticated });
    expect(await attempt(secret)).toMatchObject({ registered: false, code: Code.AlreadyExists });
    await expectUnchanged(c, before, taskPid);

    // The agent goes away (its tasks run on): an impostor still cannot take its place.
    await real.stop();
    const away = await waitFor('the agent to be disconnected', () => view(c), (v) => JSON.stringify(v).includes('DISCONNECTED'));
    expect(await attempt('')).toMatchObject({ registered: false, code: Code.Unauthenticated });
    await expectUnchanged(c, away, taskPid);

    // The agent restarts on its work dir and gets straight back in, adopting its task.
    const again = await startAgent({
      master: address,
      workDir: path.join(cluster.root, 'plain-1'),
      hostname: 'plain-1',
      resources: { cpus: 2, mem: 2048, disk: 1024, ports: [{ begin: 32620, end: 32639 }] },
      logger: silentLogger(),
    });
    try {
      expect(await again.registered()).toBe(id);
      await waitFor('the agent to be active', () => view(c), (v) => JSON.stringify(v) === JSON.stringify(before));
      await expectUnchanged(c, before, taskPid);
    } finally {
      await again.stop({ killTasks: true });
    }
  });
});
