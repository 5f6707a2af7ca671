/**
 * Mutual TLS between every component, as a non-dev cluster runs: the master
 * only talks to holders of a certificate from the cluster's CA.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverServer, drover, freePort, REPO, requireBuiltCli } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
let root: string;
let certs: string;
let foreign: string;
let master: DroverServer;
let agent: DroverServer;
let address: string;
let httpPort: number;

const tlsFlags = (dir: string, who: string) => ['--tls-ca', path.join(dir, 'ca.crt'), '--tls-cert', path.join(dir, `${who}.crt`), '--tls-key', path.join(dir, `${who}.key`)];

beforeAll(async () => {
  requireBuiltCli();
  root = tempDir('tls');
  certs = path.join(root, 'certs');
  foreign = path.join(root, 'foreign');
  await run('bash', [path.join(REPO, 'scripts/gen-certs'), certs, '--agent', 'node-1']);
  await run('bash', [path.join(REPO, 'scripts/gen-certs'), foreign]);
  const grpcPort = await freePort();
  httpPort = await freePort();
  address = `127.0.0.1:${grpcPort}`;
  master = new DroverServer(
    'master',
    ['master', '--data-dir', path.join(root, 'm'), '--host', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), ...tlsFlags(certs, 'master')],
    path.join(root, 'master.log'),
  ).start();
  agent = new DroverServer(
    'agent',
    ['agent', '--master', address, '--work-dir', path.join(root, 'a'), '--hostname', 'node-1', '--resources', 'cpus=1,mem=512,ports=32400-32420', ...tlsFlags(certs, 'agent-node-1')],
    path.join(root, 'agent.log'),
  ).start();
});

afterAll(async () => {
  await drover(['app', 'delete', '/tls/app', '--master', address, ...tlsFlags(certs, 'client')]);
  await new Promise((r) => setTimeout(r, 500));
  await agent?.kill('SIGTERM');
  await master?.kill('SIGTERM');
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('mutual TLS', () => {
  it('lets certificate holders in, keeps everyone else out, and serves HTTPS', async () => {
    try {
      const client = (...args: string[]) => drover([...args, '--master', address, ...tlsFlags(certs, 'client')]);
      await waitFor('the agent to register over TLS', () => client('agent', 'list', '--json'), (r) => r.code === 0 && r.stdout.includes('AGENT_STATE_ACTIVE'), 20_000);

      const spec = path.join(root, 'app.json');
      fs.writeFileSync(spec, JSON.stringify({ id: '/tls/app', cmd: 'exec sleep 600', cpus: 0.1, mem: 16 }));
      expect((await client('app', 'deploy', spec)).code).toBe(0);
      await waitFor('the task to run', () => client('task', 'list', '--json'), (r) => r.stdout.includes('TASK_STATE_RUNNING'), 20_000);

      const plaintext = await drover(['cluster', 'info', '--master', address]);
      expect(plaintext.code).toBe(1);
      expect(plaintext.stderr).toMatch(/^error: cannot reach the master at 127\.0\.0\.1:\d+/);

      const stranger = await drover(['cluster', 'info', '--master', address, '--tls-ca', path.join(certs, 'ca.crt'), '--tls-cert', path.join(foreign, 'client.crt'), '--tls-key', path.join(foreign, 'client.key')]);
      expect(stranger.code).toBe(1);

      const ping = await new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: httpPort, path: '/ping', ca: fs.readFileSync(path.join(certs, 'ca.crt')) }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
      expect(ping).toBe('pong');

      // Certificates carry roles: the agent's certificate does not make a client.
      const asAgent = await drover(['app', 'list', '--master', address, ...tlsFlags(certs, 'agent-node-1')]);
      expect(asAgent.code).toBe(1);
      expect(asAgent.stderr).toContain('certificate "node-1" (role agent) may not call drover.v1.Apps/List');

      // kill -9 of the agent: the kernel closes its connection, the master
      // sees the session end, and the restarted agent gets straight back in
      // (one session per agent does not lock it out), adopting its task.
      type TaskJson = { id: string; state: string; pid: number };
      const tasks = async () => JSON.parse((await client('task', 'list', '--all', '--json')).stdout) as TaskJson[];
      const before = await tasks();
      await agent.kill('SIGKILL');
      const restartedAt = Date.now();
      agent.start();
      await waitFor(
        'the restarted agent to register',
        () => client('agent', 'list', '--json'),
        (r) => r.code === 0 && r.stdout.includes('AGENT_STATE_ACTIVE') && agent.log().split(`"msg":"registered"`).length > 2,
        20_000,
      );
      console.info(`agent restarted after kill -9 was registered again in ${Date.now() - restartedAt} ms`);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await tasks()).toEqual(before);
      expect(before.map((t) => t.state)).toEqual(['TASK_STATE_RUNNING']);
    } catch (error) {
      console.error(`--- master ---\n${master.log().slice(-3000)}\n--- agent ---\n${agent.log().slice(-3000)}`);
      throw error;
    }
  });
});
