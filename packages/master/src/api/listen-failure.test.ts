import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AddressInUseError, silentLogger } from '@drover/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMaster } from '../master.js';

let busy: net.Server;
let busyPort: number;
const dirs: string[] = [];

beforeAll(async () => {
  busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as net.AddressInfo).port;
});

afterAll(() => {
  busy.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('a master whose port another process holds', () => {
  it.each([
    { name: 'the gRPC port', listener: 'grpc' as const, ports: () => ({ grpcPort: busyPort, httpPort: 0 }) },
    { name: 'the HTTP port', listener: 'http' as const, ports: () => ({ grpcPort: 0, httpPort: busyPort }) },
  ])('fails to start with an AddressInUseError naming $name', async ({ listener, ports }) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-busy-'));
    dirs.push(dataDir);
    const err = await startMaster({ dataDir, grpcHost: '127.0.0.1', httpHost: '127.0.0.1', ...ports(), logger: silentLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressInUseError);
    expect(err).toMatchObject({ listener, host: '127.0.0.1', port: busyPort });
  });
});
