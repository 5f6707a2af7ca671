/**
 * A standby master over its real servers: a leader (SQLite, the default
 * leadership) and standbys started with a ControlledLeadership naming it.
 * What a standby answers on gRPC (refusals with the leader's address,
 * Cluster.Info), to agents (NotLeader, never a registration) and on HTTP
 * (REST and SSE proxied to the leader, /v2/info and /v2/leader local).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { AppsClient, AppSpec, ClusterClient, type InfoResponse } from '@drover/proto';
import { credentials, type GrpcObject, loadPackageDefinition, Metadata, type ServiceClientConstructor, type ServiceError, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningMaster } from './master-options.js';
import { startMaster } from './master.js';
import { ControlledLeadership } from './testing/controlled-leadership.js';
import { FakeAgent } from './testing/fake-agent.js';
import { masterClients } from './testing/master-clients.js';
import { SseClient } from './testing/sse-client.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-standby-'));
let leader: RunningMaster;
let standby: RunningMaster;
let orphan: RunningMaster;
let standbyLeadership: ControlledLeadership;
const http = (m: RunningMaster) => `127.0.0.1:${m.httpPort}`;
const grpc = (m: RunningMaster) => `127.0.0.1:${m.grpcPort}`;

async function start(name: string, leadership?: (l: ControlledLeadership) => void): Promise<RunningMaster> {
  return startMaster({
    dataDir: path.join(root, name),
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    logger: silentLogger(),
    ...(leadership
      ? {
          leadership: (epoch) => {
            const l = new ControlledLeadership(epoch, false);
            leadership(l);
            return l;
          },
        }
      : {}),
  });
}

beforeAll(async () => {
  leader = await start('leader');
  standby = await start('standby', (l) => {
    standbyLeadership = l;
    l.follow({ grpc: grpc(leader), http: http(leader), epoch: leader.epoch });
  });
  standbyLeadership.knowMasters([{ grpc: grpc(leader), http: http(leader) }]);
  orphan = await start('orphan', () => undefined);
});

afterAll(async () => {
  await Promise.all([leader, standby, orphan].map((m) => m?.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

/** A raw unary call, giving the error (with its trailers) or the response. */
function deployRaw(address: string, id: string): Promise<{ error?: ServiceError }> {
  const apps = new AppsClient(address, credentials.createInsecure());
  return new Promise((resolve) => {
    apps.deploy({ app: AppSpec.fromPartial({ id, cmd: 'sleep 60', cpus: 0.1, mem: 16 }), force: false }, new Metadata(), (error) => {
      apps.close();
      resolve(error ? { error } : {});
    });
  });
}

function info(address: string): Promise<InfoResponse> {
  const cluster = new ClusterClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    cluster.info({}, (e, r) => {
      cluster.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

describe('a standby on gRPC', () => {
  it('refuses client calls with UNAVAILABLE and the leader in drover-leader, executing nothing', async () => {
    const { error } = await deployRaw(grpc(standby), 'refused');
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(error?.metadata.get('drover-leader')).toEqual([grpc(leader)]);
    expect(error?.details).toBe(`the master at ${grpc(standby)} is a standby; the leader is ${grpc(leader)}`);
    const onLeader = masterClients(leader);
    const onStandby = masterClients(standby);
    try {
      expect((await onLeader.listApps()).map((a) => a.spec?.id)).not.toContain('/refused');
      await expect(onStandby.listApps()).rejects.toMatchObject({ name: 'NotLeaderError', leaderAddress: grpc(leader) });
    } finally {
      onLeader.close();
      onStandby.close();
    }
  });

  it('with no leader known, refuses without drover-leader and says why', async () => {
    const { error } = await deployRaw(grpc(orphan), 'orphaned');
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(error?.metadata.get('drover-leader')).toEqual([]);
    expect(error?.metadata.get('drover-standby')).toEqual(['1']);
    expect(error?.details).toMatch(/is a standby and knows no leader yet/);
  });

  it('answers Cluster.Info with the leader and every master', async () => {
    const i = await info(grpc(standby));
    expect(i).toMatchObject({ isLeader: false, leader: grpc(leader), leaderHttp: http(leader), epoch: leader.epoch });
    expect(i.masters).toEqual([
      { grpcAddress: grpc(leader), httpAddress: http(leader), role: 'leader', epoch: leader.epoch },
      { grpcAddress: grpc(standby), httpAddress: http(standby), role: 'standby', epoch: 0 },
    ]);
    expect(await info(grpc(leader))).toMatchObject({
      isLeader: true,
      leaderHttp: http(leader),
      masters: [{ grpcAddress: grpc(leader), httpAddress: http(leader), role: 'leader', epoch: leader.epoch }],
    });
  });
});

describe('a standby to health checks', () => {
  it.each([
    { service: 'drover.v1.Apps', standby: 'NOT_SERVING' },
    { service: 'drover.v1.Events', standby: 'NOT_SERVING' },
    { service: 'drover.v1.Cluster', standby: 'SERVING' },
    { service: 'drover.v1.AgentService', standby: 'SERVING' },
    { service: '', standby: 'SERVING' },
  ])('reports $service as $standby (the leader: SERVING)', async ({ service, standby: expected }) => {
    const check = (m: RunningMaster) => {
      const require = createRequire(import.meta.url);
      const proto = path.join(path.dirname(require.resolve('grpc-health-check')), '../../proto/health/v1/health.proto');
      const pkg = loadPackageDefinition(loadSync(proto, { keepCase: true, enums: String }));
      const Health = ['grpc', 'health', 'v1', 'Health'].reduce<unknown>((o, k) => (o as GrpcObject)[k], pkg) as ServiceClientConstructor;
      const client = new Health(grpc(m), credentials.createInsecure()) as any;
      return new Promise<string>((resolve, reject) =>
        client.Check({ service }, (e: Error | null, r: { status: string }) => {
          client.close();
          if (e) reject(e);
          else resolve(r.status);
        }),
      );
    };
    expect(await check(standby)).toBe(expected);
    expect(await check(leader)).toBe('SERVING');
  });
});

describe('a standby to agents', () => {
  it.each([
    { name: 'names the leader', master: () => standby, address: () => grpc(leader) },
    { name: 'names nobody while it knows no leader', master: () => orphan, address: () => '' },
  ])('$name in NotLeader (epoch 0), ends the stream and registers nothing', async ({ master, address }) => {
    const agent = new FakeAgent(grpc(master()), FakeAgent.registration());
    await expect(agent.connect()).rejects.toThrow();
    expect(agent.inbox).toEqual([{ epoch: 0, message: { $case: 'notLeader', value: { leaderAddress: address() } } }]);
    agent.close();
    expect(await info(grpc(master()))).toMatchObject({ agentsActive: 0 });
  });
});

describe('a standby on HTTP', () => {
  it('passes REST to the leader, marked with X-Marathon-Via', async () => {
    const created = await fetch(`http://${http(standby)}/v2/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: '/through-standby', cmd: 'sleep 60', cpus: 0.1, mem: 16, instances: 0 }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-marathon-via')).toBe(`1.1 ${http(standby)}`);
    const onLeader = await (await fetch(`http://${http(leader)}/v2/apps/through-standby`)).json();
    expect(onLeader).toMatchObject({ app: { id: '/through-standby' } });
    const viaStandby = await fetch(`http://${http(standby)}/v2/apps/through-standby`);
    expect(viaStandby.status).toBe(200);
    expect(await viaStandby.json()).toEqual(onLeader);
    // Bad input is the leader's to judge: every problem, with its path.
    const invalid = await fetch(`http://${http(standby)}/v2/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'Bad_Id', cpus: -1 }) });
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { details: unknown[] }).details.length).toBeGreaterThan(1);
    const deleted = await fetch(`http://${http(standby)}/v2/apps/through-standby?force=true`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
  });

  it('answers /v2/info, /v2/leader, /ping and /metrics itself', async () => {
    expect(await (await fetch(`http://${http(standby)}/v2/leader`)).json()).toEqual({ leader: http(leader) });
    expect(await (await fetch(`http://${http(leader)}/v2/leader`)).json()).toEqual({ leader: http(leader) });
    const standbyInfo = await (await fetch(`http://${http(standby)}/v2/info`)).json();
    expect(standbyInfo).toMatchObject({ elected: false, leader: http(leader), marathon_config: { ha: true }, drover: { grpcAddress: grpc(standby) } });
    expect(await (await fetch(`http://${http(leader)}/v2/info`)).json()).toMatchObject({ elected: true, leader: http(leader), marathon_config: { ha: false } });
    expect(await (await fetch(`http://${http(standby)}/ping`)).text()).toBe('pong');
    expect((await fetch(`http://${http(standby)}/metrics`)).headers.get('x-marathon-via')).toBeNull();
  });

  it('with no leader known answers 503 (REST) and 404 (/v2/leader) with a clear message', async () => {
    const apps = await fetch(`http://${http(orphan)}/v2/apps`);
    expect(apps.status).toBe(503);
    expect(await apps.json()).toEqual({ message: expect.stringMatching(/standby and no leader is known/) });
    const l = await fetch(`http://${http(orphan)}/v2/leader`);
    expect(l.status).toBe(404);
    expect(await l.json()).toEqual({ message: 'There is no leader' });
  });

  it('refuses to pass on a request another master already forwarded (no loops)', async () => {
    const res = await fetch(`http://${http(standby)}/v2/apps`, { headers: { 'x-marathon-via': '1.1 10.0.0.9:5050' } });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toMatch(/^Detected proxying loop/);
  });

  it('streams /v2/events from the leader, and resumes after Last-Event-ID', async () => {
    const first = await SseClient.open(`http://${http(standby)}/v2/events`);
    try {
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await fetch(`http://${http(leader)}/v2/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: '/sse-one', cmd: 'sleep 60', instances: 0 }) });
      await first.until((c) => c.has('api_post_event', (d) => d.appDefinition?.id === '/sse-one'));
    } finally {
      first.close();
    }
    const seen = first.events.at(-1)?.id ?? 0;
    // Events the client missed while away.
    await fetch(`http://${http(leader)}/v2/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: '/sse-two', cmd: 'sleep 60', instances: 0 }) });
    const resumed = await SseClient.open(`http://${http(standby)}/v2/events`, { 'last-event-id': String(seen) });
    try {
      await resumed.until((c) => c.has('api_post_event', (d) => d.appDefinition?.id === '/sse-two'));
      expect(resumed.events.every((e) => (e.id ?? 0) > seen)).toBe(true);
      expect(resumed.has('api_post_event', (d) => d.appDefinition?.id === '/sse-one')).toBe(false);
    } finally {
      resumed.close();
    }
  });
});
