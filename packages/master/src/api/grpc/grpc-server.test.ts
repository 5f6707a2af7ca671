import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { credentials, type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningMaster } from '../../master-options.js';
import { startMaster } from '../../master.js';
import { grpcAccess } from '../../auth/access-policy.js';

const require = createRequire(import.meta.url);
let master: RunningMaster;
let dataDir: string;

// Clients built from a .proto at run time have no static method types.
function serviceClient(protoFile: string, name: string): any {
  const pkg = loadPackageDefinition(loadSync(protoFile, { keepCase: true, enums: String }));
  const ctor = name.split('.').reduce<unknown>((o, k) => (o as GrpcObject)[k], pkg) as ServiceClientConstructor;
  return new ctor(`127.0.0.1:${master.grpcPort}`, credentials.createInsecure());
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-grpc-'));
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, logger: silentLogger() });
});

afterAll(async () => {
  await master.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('master gRPC server', () => {
  it('answers the standard health check', async () => {
    const proto = path.join(path.dirname(require.resolve('grpc-health-check')), '../../proto/health/v1/health.proto');
    const health = serviceClient(proto, 'grpc.health.v1.Health');
    const status = await new Promise<{ status: string }>((resolve, reject) =>
      health.Check({ service: 'drover.v1.Apps' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    expect(status.status).toBe('SERVING');
    health.close();
  });

  it('lists every Drover service through server reflection', async () => {
    const proto = path.join(path.dirname(require.resolve('@grpc/reflection')), '../proto/grpc/reflection/v1/reflection.proto');
    const reflection = serviceClient(proto, 'grpc.reflection.v1.ServerReflection');
    const call = reflection.ServerReflectionInfo();
    const names = await new Promise<string[]>((resolve, reject) => {
      call.on('data', (r: { list_services_response?: { service: { name: string }[] } }) => {
        resolve((r.list_services_response?.service ?? []).map((s) => s.name));
        call.end();
      });
      call.on('error', reject);
      call.write({ list_services: '' });
    });
    expect(names).toEqual(
      expect.arrayContaining(['drover.v1.AgentService', 'drover.v1.Apps', 'drover.v1.Tasks', 'drover.v1.Agents', 'drover.v1.Cluster']),
    );
    // The access policy refuses services it does not list: each one served must be in it.
    expect(names.filter((name) => grpcAccess(`/${name}/Any`).length === 0)).toEqual([]);
    reflection.close();
  });
});
