/**
 * DockerDaemon.ping against real unix-socket servers (one that answers like
 * the Engine API, one that fails, one that never answers) and, where there
 * is one, the real daemon; and that pinging never makes the dockerode
 * client, which is what keeps an idle agent on a Docker machine small.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDocker, testDaemon } from '../../testing/docker-test-env.js';
import { DockerDaemon } from './docker-daemon.js';

let dir: string;
const servers: http.Server[] = [];

/** An HTTP server on a unix socket in `dir`, answering every request with `handler`. */
async function socketServer(name: string, handler: http.RequestListener): Promise<string> {
  const socketPath = path.join(dir, name);
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return socketPath;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-docker-ping-'));
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await fs.rm(dir, { recursive: true, force: true });
});

describe('DockerDaemon.ping', () => {
  it('is true when GET /_ping answers 200, and asks exactly that', async () => {
    const asked: string[] = [];
    const socket = await socketServer('ok.sock', (req, res) => {
      asked.push(`${req.method} ${req.url}`);
      res.end('OK');
    });
    expect(await new DockerDaemon(socket).ping()).toBe(true);
    expect(asked).toEqual(['GET /_ping']);
  });

  it.each([
    { name: 'the daemon answers 500', status: 500 },
    { name: 'something else answers 404', status: 404 },
  ])('is false when $name', async ({ status }) => {
    const socket = await socketServer(`status-${status}.sock`, (_req, res) => {
      res.statusCode = status;
      res.end('no');
    });
    expect(await new DockerDaemon(socket).ping()).toBe(false);
  });

  it('is false when nothing answers within the timeout', async () => {
    const socket = await socketServer('silent.sock', () => undefined);
    const t0 = Date.now();
    expect(await new DockerDaemon(socket).ping(300)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('is false when the answer starts but does not end within the timeout', async () => {
    const socket = await socketServer('half.sock', (_req, res) => {
      res.writeHead(200, { 'content-length': '2' });
      res.write('O');
    });
    expect(await new DockerDaemon(socket).ping(300)).toBe(false);
  });

  it('is false when there is no socket, or a file that is not one', async () => {
    const file = path.join(dir, 'plain-file');
    await fs.writeFile(file, '');
    expect(await new DockerDaemon(path.join(dir, 'missing.sock')).ping()).toBe(false);
    expect(await new DockerDaemon(file).ping()).toBe(false);
  });

  it('does not make the dockerode client (loading it is what it costs)', async () => {
    const socket = await socketServer('light.sock', (_req, res) => res.end('OK'));
    const daemon = new DockerDaemon(socket);
    expect(await daemon.ping()).toBe(true);
    // This file's other imports load dockerode for the real-daemon test, so
    // the module cache cannot tell; the client the daemon makes on first use can.
    expect((daemon as unknown as { client: unknown }).client).toBeUndefined();
  });
});

describeDocker('DockerDaemon.ping with the real daemon', () => {
  it('is true', async () => {
    expect(await new DockerDaemon(testDaemon.socketPath).ping()).toBe(true);
  });
});
