/**
 * GET /v2/events over real HTTP: Server-Sent Events read with fetch, from a
 * master started with startMaster (and, where the test needs a short
 * heartbeat or the stream registry, a core harness behind the same server).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { HealthState, TaskState } from '@drover/proto';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningMaster } from '../../../master-options.js';
import { startMaster } from '../../../master.js';
import { startCore } from '../../../testing/core-harness.js';
import { FakeAgent, run } from '../../../testing/fake-agent.js';
import { startHttpServer } from '../http-server.js';
import { registerMarathonApi } from './marathon-api.js';
import { SseClient } from '../../../testing/sse-client.js';


let dataDir: string;
let master: RunningMaster;
const clients: SseClient[] = [];
const agents: FakeAgent[] = [];

beforeEach(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-events-'));
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, logger: silentLogger() });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const a of agents.splice(0)) a.close();
  await master.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function events(query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const c = await SseClient.open(`http://127.0.0.1:${master.httpPort}/v2/events${query}`, headers);
  clients.push(c);
  return c;
}

async function api(method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${master.httpPort}${url}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return text === '' ? undefined : JSON.parse(text);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('/v2/events', () => {
  it('streams each event as id, event and data lines, in Marathon\'s JSON shape per type', async () => {
    const stream = await events();
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.until((c) => c.has('event_stream_attached'));
    expect(stream.frames[0]).toEqual({ event: 'event_stream_attached', data: { remoteAddress: expect.any(String), eventType: 'event_stream_attached', timestamp: expect.stringMatching(ISO) } });

    const a = new FakeAgent(`127.0.0.1:${master.grpcPort}`, FakeAgent.registration({ hostname: 'node-1.test' }));
    agents.push(a);
    await a.connect();
    await api('POST', '/v2/apps', { id: '/web', cmd: 'sleep 600', cpus: 0.1, mem: 16, portDefinitions: [{ port: 0 }], healthChecks: [{ protocol: 'TCP' }] });
    const taskId = (await a.next('launch')).task?.taskId ?? '';
    await run(a, taskId);
    a.status(taskId, TaskState.TASK_STATE_RUNNING, { health: HealthState.HEALTH_STATE_HEALTHY });
    await stream.until((c) => c.has('deployment_success'));
    await api('DELETE', '/v2/apps/web');
    await stream.until((c) => c.has('app_terminated_event'));

    const ids = stream.events.map((f) => f.id ?? 0);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    const first = (type: string) => stream.events.find((f) => f.event === type)?.data;
    const base = (eventType: string) => ({ eventType, timestamp: expect.stringMatching(ISO) });
    const plan = { id: expect.any(String), version: expect.stringMatching(ISO), original: expect.objectContaining({ id: '/', apps: [] }), target: expect.objectContaining({ id: '/', apps: [expect.objectContaining({ id: '/web' })] }), steps: [{ actions: [{ action: 'StartApplication', app: '/web' }] }] };
    const expected: Array<[string, unknown]> = [
      ['agent_registered_event', { ...base('agent_registered_event'), agentId: a.register.agentId, hostname: 'node-1.test', address: '127.0.0.1', state: 'ACTIVE', attributes: {}, draining: false, drainDeadline: null }],
      ['api_post_event', { ...base('api_post_event'), clientIp: null, uri: '/v2/apps/web', appDefinition: expect.objectContaining({ id: '/web', cmd: 'sleep 600', version: expect.stringMatching(ISO) }) }],
      ['deployment_info', { ...base('deployment_info'), plan, currentStep: { actions: [{ action: 'StartApplication', app: '/web' }] } }],
      ['status_update_event', { ...base('status_update_event'), slaveId: a.register.agentId, taskId, taskStatus: 'TASK_STAGING', message: '', appId: '/web', host: 'node-1.test', ports: [expect.any(Number)], version: expect.stringMatching(ISO) }],
      ['health_status_changed_event', { ...base('health_status_changed_event'), appId: '/web', taskId, instanceId: taskId, version: expect.stringMatching(ISO), alive: true }],
      ['deployment_step_success', { ...base('deployment_step_success'), plan, currentStep: { actions: [{ action: 'StartApplication', app: '/web' }] } }],
      ['deployment_success', { ...base('deployment_success'), id: plan.id, plan }],
      ['app_terminated_event', { ...base('app_terminated_event'), appId: '/web' }],
    ];
    for (const [type, shape] of expected) expect(first(type), type).toEqual(shape);
    expect(stream.events.filter((f) => f.event === 'status_update_event').map((f) => f.data.taskStatus).slice(0, 2)).toEqual(['TASK_STAGING', 'TASK_RUNNING']);
  });

  it('?event_type= keeps only the types asked for', async () => {
    const filtered = await events('?event_type=api_post_event&event_type=app_terminated_event');
    const all = await events();
    await all.until((c) => c.has('event_stream_attached'));
    await api('POST', '/v2/apps', { id: '/f', cmd: 'true', instances: 0 });
    await api('DELETE', '/v2/apps/f');
    await filtered.until((c) => c.has('app_terminated_event'));
    await all.until((c) => c.has('app_terminated_event'));
    expect(filtered.frames.map((f) => f.event)).toEqual(['api_post_event', 'app_terminated_event']);
    expect(all.events.length).toBeGreaterThan(2);
  });

  it.each([
    { name: 'the Last-Event-ID header', resume: (id: number) => events('', { 'last-event-id': String(id) }) },
    { name: '?lastEventId=', resume: (id: number) => events(`?lastEventId=${id}`) },
  ])('resumes with $name: exactly the missed events, in order, then live ones', async ({ resume }) => {
    // The reference stays connected throughout and sees everything.
    const reference = await events();
    const first = await events();
    await first.until((c) => c.has('event_stream_attached'));
    await api('POST', '/v2/apps', { id: '/one', cmd: 'true', instances: 0 });
    await first.until((c) => c.has('deployment_success', (d) => d.plan.target.apps[0]?.id === '/one'));
    const lastSeen = first.events.at(-1)?.id ?? 0;
    first.close();

    // Missed while disconnected.
    await api('POST', '/v2/apps', { id: '/two', cmd: 'true', instances: 0 });
    await api('PATCH', '/v2/apps/one?force=true', { cmd: 'false' });
    await api('DELETE', '/v2/apps/one?force=true');
    await reference.until((c) => c.has('app_terminated_event'));

    const resumed = await resume(lastSeen);
    const missed = reference.events.filter((f) => (f.id ?? 0) > lastSeen);
    expect(missed.length).toBeGreaterThanOrEqual(4);
    await resumed.until((c) => c.events.length >= missed.length);
    expect(resumed.events.slice(0, missed.length)).toEqual(missed);
    // Nothing was lost on the bus either: ids are consecutive.
    const ids = reference.events.map((f) => f.id ?? 0);
    expect(ids).toEqual(ids.map((_, i) => (ids[0] ?? 0) + i));

    // Then live.
    await api('DELETE', '/v2/apps/two');
    await resumed.until((c) => c.has('app_terminated_event', (d) => d.appId === '/two'));
    await reference.until((c) => c.has('app_terminated_event', (d) => d.appId === '/two'));
    expect(resumed.events.map((f) => f.id)).toEqual(reference.events.filter((f) => (f.id ?? 0) > lastSeen).map((f) => f.id));
  });

  it('refuses a Last-Event-ID that is not an event id: 422', async () => {
    const res = await fetch(`http://127.0.0.1:${master.httpPort}/v2/events`, { headers: { 'last-event-id': 'yesterday' } });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ message: 'Object is not valid', details: [{ path: '/Last-Event-ID', errors: ['must be a non-negative integer (the id of the last event seen)'] }] });
  });

  it('ends open streams when the master stops', async () => {
    const stream = await events();
    await stream.until((c) => c.has('event_stream_attached'));
    const started = Date.now();
    await master.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    await stream.until((c) => c.ended);
  });
});

describe('/v2/events behind a core harness', () => {
  it('sends heartbeat comments, and unsubscribes when the client goes away', async () => {
    const h = await startCore();
    // Cut idle client connections on close, as startHttpServer does after its grace period.
    const app = Fastify({ forceCloseConnections: true });
    const streams = registerMarathonApi(app, {
      core: h.core,
      facts: { grpcAddress: '', leadership: { isLeader: true, epoch: 1, leaderAddress: '', leaderHttpAddress: '', masters: async () => [] }, ha: false, startedAt: Date.now(), storeKind: 'sqlite', httpAddress: () => '127.0.0.1:0', https: false },
      events: { heartbeatMs: 30 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const stream = await SseClient.open(`http://127.0.0.1:${port}/v2/events`);
      await stream.until((c) => c.comments.filter((x) => x === 'heartbeat').length >= 2);
      expect(streams.size).toBe(1);
      stream.close();
      const deadline = Date.now() + 2000;
      while (streams.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(streams.size).toBe(0);
    } finally {
      await app.close();
      await h.close();
    }
  });

  it('startHttpServer serves the API with the advertised address', async () => {
    const h = await startCore();
    const server = await startHttpServer(h.core, { host: '127.0.0.1', port: 0, advertisedHost: 'master-1.example', facts: { grpcAddress: 'master-1.example:5053', leadership: { isLeader: true, epoch: 3, leaderAddress: 'master-1.example:5053', leaderHttpAddress: '', masters: async () => [] }, ha: false, startedAt: 0, storeKind: 'sqlite' }, log: silentLogger() });
    try {
      const leader = await (await fetch(`http://127.0.0.1:${server.port}/v2/leader`)).json();
      expect(leader).toEqual({ leader: `master-1.example:${server.port}` });
    } finally {
      await server.close();
      await h.close();
    }
  });
});
