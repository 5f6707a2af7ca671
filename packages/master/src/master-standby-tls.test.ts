/**
 * A standby's REST proxy under mutual TLS, with certificates from
 * scripts/gen-certs: the standby judges the caller's certificate itself,
 * then reaches the leader over HTTPS presenting its own master certificate,
 * which the leader's access policy lets do what a client may.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTls, silentLogger, type TlsMaterial } from '@drover/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningMaster } from './master-options.js';
import { startMaster } from './master.js';
import { ControlledLeadership } from './testing/controlled-leadership.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-standby-tls-'));
const certs = path.join(root, 'certs');
const material = (who: string) => loadTls({ ca: path.join(certs, 'ca.crt'), cert: path.join(certs, `${who}.crt`), key: path.join(certs, `${who}.key`) }) as TlsMaterial;
let leader: RunningMaster;
let standby: RunningMaster;

beforeAll(async () => {
  execFileSync('bash', [path.join(REPO, 'scripts/gen-certs'), certs], { stdio: 'ignore' });
  const tls = material('master');
  const common = { grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, tls, logger: silentLogger() };
  leader = await startMaster({ ...common, dataDir: path.join(root, 'leader') });
  standby = await startMaster({
    ...common,
    dataDir: path.join(root, 'standby'),
    leadership: (epoch) => {
      const l = new ControlledLeadership(epoch, false);
      l.follow({ grpc: `127.0.0.1:${leader.grpcPort}`, http: `127.0.0.1:${leader.httpPort}`, epoch: leader.epoch });
      return l;
    },
  });
});

afterAll(async () => {
  await Promise.all([leader, standby].map((m) => m?.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

/** One HTTPS request with the given client certificate (or none). */
function request(port: number, method: string, url: string, who: string | undefined, body?: unknown): Promise<{ status: number; body: any; via: string | undefined }> {
  const ca = fs.readFileSync(path.join(certs, 'ca.crt'));
  const identity = who === undefined ? {} : { cert: fs.readFileSync(path.join(certs, `${who}.crt`)), key: fs.readFileSync(path.join(certs, `${who}.key`)) };
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: url, ca, ...identity, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text), via: res.headers['x-marathon-via'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('a standby under mutual TLS', () => {
  it("passes a client's request to the leader with its own certificate", async () => {
    const created = await request(standby.httpPort, 'POST', '/v2/apps', 'client', { id: '/tls-proxied', cmd: 'sleep 60', instances: 0 });
    expect(created).toMatchObject({ status: 201, body: { id: '/tls-proxied' }, via: expect.stringMatching(/^1\.1 /) });
    expect(await request(leader.httpPort, 'GET', '/v2/apps/tls-proxied', 'client')).toMatchObject({ status: 200, body: { app: { id: '/tls-proxied' } } });
  });

  it('refuses, itself, a caller without a certificate', async () => {
    const refused = await request(standby.httpPort, 'GET', '/v2/apps', undefined);
    expect(refused).toMatchObject({ status: 401, via: undefined });
  });
});
