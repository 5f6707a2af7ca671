/**
 * dialTarget against a real TLS server with certificates from
 * scripts/gen-certs (valid for localhost and 127.0.0.1 only).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Server } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialTarget, loadTls, serverCredentials, type TlsMaterial } from './tls.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
let dir: string;
let client: TlsMaterial;
const servers: Server[] = [];

/** A TLS server with the master certificate on `host`; resolves with its port. */
async function tlsServer(host: string): Promise<number> {
  const server = new Server();
  servers.push(server);
  const tls = loadTls({ ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'master.crt'), key: path.join(dir, 'master.key') });
  return new Promise((resolve, reject) => server.bindAsync(`${host}:0`, serverCredentials(tls), (e, port) => (e ? reject(e) : resolve(port))));
}

/** Whether a channel to `target` gets to READY (TCP, TLS handshake with the identity check, HTTP/2). */
function connects(target: string, dial: ReturnType<typeof dialTarget>): Promise<boolean> {
  const c = new Client(target, dial.credentials, dial.channelOptions);
  return new Promise((resolve) =>
    c.waitForReady(Date.now() + 2_000, (e) => {
      c.close();
      resolve(e === undefined || e === null);
    }),
  );
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-dial-'));
  execFileSync('bash', [path.join(REPO, 'scripts/gen-certs'), dir], { stdio: 'ignore' });
  client = loadTls({ ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'client.crt'), key: path.join(dir, 'client.key') }) as TlsMaterial;
});

afterAll(() => {
  for (const s of servers) s.forceShutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('dialTarget', () => {
  it('dials an IP over TLS without the DEP0123 warning, which dialing it the plain grpc-js way gives', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => void warnings.push(w.code ?? w.name);
    process.on('warning', onWarning);
    try {
      const target = `127.0.0.1:${await tlsServer('127.0.0.1')}`;
      expect(await connects(target, dialTarget(client, target))).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('DEP0123');
      // The same dial with the server name left to grpc-js: Node warns (once per process, so this comes last).
      const plain = dialTarget(client, `localhost:1`);
      expect(await connects(target, { credentials: plain.credentials, channelOptions: {} })).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toContain('DEP0123');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it.each([
    { name: 'an IP the certificate names', host: '127.0.0.1', dialAs: '127.0.0.1', ok: true },
    { name: 'a host name the certificate names', host: '127.0.0.1', dialAs: 'localhost', ok: true },
    // The placeholder server name must not weaken the check: 127.0.0.2 is not in the certificate.
    { name: 'an IP the certificate does not name', host: '127.0.0.2', dialAs: '127.0.0.2', ok: false },
  ])('checks the certificate against the address dialed: $name', async ({ host, dialAs, ok }) => {
    const target = `${dialAs}:${await tlsServer(host)}`;
    expect(await connects(target, dialTarget(client, target))).toBe(ok);
  });

  it('dials in plaintext without TLS material, with no options', () => {
    expect(dialTarget(undefined, '10.0.0.1:5053').channelOptions).toEqual({});
  });
});
