/**
 * The Marathon REST API over real HTTP: a master started with startMaster
 * (fastify on 127.0.0.1, a free port), requests with fetch, agents played
 * by FakeAgent where tasks are needed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { HealthState, TaskState } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningMaster } from '../../../master-options.js';
import { startMaster } from '../../../master.js';
import { FakeAgent, run } from '../../../testing/fake-agent.js';
import { MARATHON_1_4_APP_ANSWER, MARATHON_1_9_APP_ANSWER } from '../../../testing/marathon-app-fixtures.js';
import { until } from '../../../testing/master-clients.js';
import { APP_LOCKED_MESSAGE } from './marathon-errors.js';

type Json = Record<string, any>;

let dataDir: string;
let master: RunningMaster;
const agents: FakeAgent[] = [];

beforeEach(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-marathon-'));
  // Deployments of apps without health checks end as soon as their tasks run (no min running time): these tests are about the API's shapes.
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, minRunningMs: 0, logger: silentLogger() });
});

afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await master.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** One request; a body that is a string is sent as is (to test malformed JSON). */
async function api(method: string, url: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${master.httpPort}${url}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

async function agent(): Promise<FakeAgent> {
  const a = new FakeAgent(`127.0.0.1:${master.grpcPort}`, FakeAgent.registration({ hostname: 'node-1.test' }));
  agents.push(a);
  await a.connect();
  return a;
}


const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f-]{36}$/;

/** An app whose deployment never finishes without an agent to run it: it stays locked. */
const WEB = { id: '/prod/web', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 2, healthChecks: [{ protocol: 'HTTP', path: '/health' }] };
const { instances: _two, ...WEB_WITHOUT_INSTANCES } = WEB;

describe('apps', () => {
  it('POST creates: 201, Location, the app JSON with its deployment; the same id again is a conflict', async () => {
    const created = await api('POST', '/v2/apps', WEB);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v2/apps/prod/web');
    const [deployment] = (await api('GET', '/v2/deployments')).body as Json[];
    expect(created.body).toEqual({
      id: '/prod/web',
      cmd: 'sleep 600',
      cpus: 0.1,
      mem: 16,
      disk: 0,
      gpus: 0,
      instances: 2,
      env: {},
      labels: {},
      constraints: [],
      portDefinitions: [{ port: 0, protocol: 'tcp', labels: {} }],
      healthChecks: [expect.objectContaining({ protocol: 'HTTP', path: '/health', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 })],
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1, progressDeadlineSeconds: 600 },
      backoffSeconds: 1,
      backoffFactor: 1.15,
      maxLaunchDelaySeconds: 300,
      taskKillGracePeriodSeconds: 3,
      placementStrategy: 'binpack',
      requirePorts: false,
      networks: [{ mode: 'host' }],
      killSelection: 'YOUNGEST_FIRST',
      unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 600 },
      version: expect.stringMatching(ISO),
      versionInfo: { lastScalingAt: created.body.version, lastConfigChangeAt: created.body.version },
      tasksStaged: 0,
      tasksRunning: 0,
      tasksHealthy: 0,
      tasksUnhealthy: 0,
      deployments: [{ id: deployment?.id }],
    });

    const again = await api('POST', '/v2/apps', { id: 'prod/web', cmd: 'true' });
    expect(again).toMatchObject({ status: 409, body: { message: 'An app with id [/prod/web] already exists.' } });
  });

  it('GET /v2/apps lists every app (sorted), with tasks on embed=apps.tasks, filtered by ?id=', async () => {
    await api('POST', '/v2/apps', { id: '/b', cmd: 'true', instances: 0 });
    await api('POST', '/v2/apps', { id: '/a/x', cmd: 'true', instances: 0 });
    const plain = await api('GET', '/v2/apps');
    expect(plain.status).toBe(200);
    expect((plain.body.apps as Json[]).map((a) => a.id)).toEqual(['/a/x', '/b']);
    expect(plain.body.apps[0]).not.toHaveProperty('tasks');
    const embedded = await api('GET', '/v2/apps?embed=apps.tasks&embed=apps.deployments');
    expect(embedded.body.apps[0]).toHaveProperty('tasks', []);
    const filtered = await api('GET', '/v2/apps?id=/a');
    expect((filtered.body.apps as Json[]).map((a) => a.id)).toEqual(['/a/x']);
  });

  it.each([
    { name: 'slashes in the id', url: '/v2/apps/prod/web' },
    { name: 'the leading slash written out', url: '/v2/apps//prod/web' },
    { name: 'a trailing slash', url: '/v2/apps/prod/web/' },
    { name: 'an encoded id', url: '/v2/apps/%2Fprod%2Fweb' },
  ])('GET /v2/apps/{id} with $name answers {app} with its tasks', async ({ url }) => {
    await api('POST', '/v2/apps', WEB);
    const got = await api('GET', url);
    expect(got.status).toBe(200);
    expect(got.body.app).toMatchObject({ id: '/prod/web', instances: 2, tasks: [] });
  });

  it('PUT creates (201) or replaces (200) with {version, deploymentId}; without instances the count stays; an identical PUT changes nothing', async () => {
    const created = await api('PUT', '/v2/apps/svc', { cmd: 'sleep 1', instances: 3, cpus: 0.1, mem: 16 });
    expect(created).toMatchObject({ status: 201, body: { version: expect.stringMatching(ISO), deploymentId: expect.stringMatching(UUID) } });
    const replaced = await api('PUT', '/v2/apps/svc?force=true', { id: '/svc', cmd: 'sleep 2', cpus: 0.1, mem: 16 });
    expect(replaced).toMatchObject({ status: 200, body: { deploymentId: expect.stringMatching(UUID) } });
    expect(replaced.body.version > created.body.version).toBe(true);
    const app = (await api('GET', '/v2/apps/svc')).body.app;
    expect(app).toMatchObject({ cmd: 'sleep 2', instances: 3, version: replaced.body.version });
    const same = await api('PUT', '/v2/apps/svc', { cmd: 'sleep 2', cpus: 0.1, mem: 16 });
    expect(same).toMatchObject({ status: 200, body: { version: replaced.body.version, deploymentId: null } });
    const otherId = await api('PUT', '/v2/apps/svc', { id: '/other', cmd: 'x' });
    expect(otherId.status).toBe(422);
    expect(otherId.body.details).toEqual([{ path: '/id', errors: ['is /other but the URL names /svc'] }]);
  });

  it('PATCH merges the given fields into the current definition', async () => {
    await api('POST', '/v2/apps', { ...WEB, env: { A: '1' }, labels: { team: 'web' } });
    const patched = await api('PATCH', '/v2/apps/prod/web?force=true', { env: { B: '2' }, instances: 1, args: ['node', 'server.js'] });
    expect(patched).toMatchObject({ status: 200, body: { version: expect.stringMatching(ISO), deploymentId: expect.stringMatching(UUID) } });
    const app = (await api('GET', '/v2/apps/prod/web')).body.app;
    expect(app).toMatchObject({ env: { B: '2' }, labels: { team: 'web' }, instances: 1, args: ['node', 'server.js'], healthChecks: [expect.objectContaining({ path: '/health' })] });
    expect(app).not.toHaveProperty('cmd');
  });

  it.each([
    { name: 'PUT', method: 'PUT', url: '/v2/apps/prod/web', body: { ...WEB, cmd: 'sleep 601' } },
    { name: 'PATCH', method: 'PATCH', url: '/v2/apps/prod/web', body: { instances: 5 } },
    { name: 'restart', method: 'POST', url: '/v2/apps/prod/web/restart', body: undefined },
    { name: 'DELETE', method: 'DELETE', url: '/v2/apps/prod/web', body: undefined },
  ])('$name on an app whose deployment runs: 409 with the deployments; with force=true it goes through', async ({ method, url, body }) => {
    const created = await api('POST', '/v2/apps', WEB);
    const running = created.body.deployments[0].id as string;
    const refused = await api(method, url, body);
    expect(refused).toMatchObject({ status: 409, body: { message: APP_LOCKED_MESSAGE, deployments: [{ id: running }] } });
    const forced = await api(method, `${url}?force=true`, body);
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ version: expect.stringMatching(ISO) });
    expect(forced.body.deploymentId).not.toBe(running);
  });

  it.each<{ name: string; body: unknown; details: Json[] }>([
    {
      name: 'several problems at once',
      body: { id: 'Web', cpus: -1, instances: 1.5, portDefinitions: [{ port: 80 }, { port: 70000, protocol: 'sctp' }], healthChecks: [{ protocol: 'COMMAND' }] },
      details: [
        { path: '/cmd', errors: ['one of cmd or args is required'] },
        { path: '/cpus', errors: ['must be at least 0.001'] },
        { path: '/healthChecks(0)/command', errors: ['COMMAND checks need command.value'] },
        { path: '/id', errors: [expect.stringMatching(/segment "Web"/)] },
        { path: '/instances', errors: ['must be an integer'] },
        { path: '/portDefinitions(1)/port', errors: ['must be at most 65535'] },
        { path: '/portDefinitions(1)/protocol', errors: ['must be one of "tcp", "udp", "udp,tcp"'] },
      ],
    },
    {
      name: 'Marathon fields Drover does not support, with the definition\'s own problems',
      body: { id: '/x', cmd: 'x', mem: 'lots', requirePorts: 'yes', uris: ['https://example.com/a.tgz'], env: { TOKEN: { secret: 'token' } } },
      details: [
        { path: '/env/TOKEN', errors: ['is a secret reference but Drover does not support secrets'] },
        { path: '/mem', errors: ['must be a number'] },
        { path: '/requirePorts', errors: ['is "yes" but Drover does not support it; only true or false is accepted'] },
        { path: '/uris', errors: ['has 1 entry but Drover does not support it; only [] is accepted'] },
      ],
    },
    { name: 'not an object', body: [1, 2], details: [{ path: '/', errors: ['an app definition must be an object'] }] },
  ])('422 in Marathon\'s shape: $name', async ({ body, details }) => {
    const answer = await api('POST', '/v2/apps', body);
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({ message: 'Object is not valid', details });
    expect((await api('GET', '/v2/apps')).body.apps).toEqual([]);
  });

  // A key Object.prototype also has once found its methods in a rules table: 500 "rule.isNoOp is not a function".
  it.each(
    ['constructor', 'toString', 'valueOf', 'hasOwnProperty'].flatMap((key) =>
      ['POST /v2/apps', 'PUT /v2/apps/prod/web', 'PATCH /v2/apps/prod/web'].flatMap((request) => [
        { key, request, where: 'top level', body: `{"id": "/prod/web", "cmd": "sleep 600", "${key}": 1}`, path: `/${key}` },
        {
          key,
          request,
          where: 'healthChecks[0]',
          body: `{"id": "/prod/web", "cmd": "sleep 600", "healthChecks": [{"protocol": "HTTP", "${key}": 1}]}`,
          path: `/healthChecks(0)/${key}`,
        },
      ]),
    ),
  )('422 naming a "$key" key ($where, $request)', async ({ request, body, path }) => {
    const [method, url] = request.split(' ') as [string, string];
    if (method !== 'POST') await api('POST', '/v2/apps', WEB);
    const answer = await api(method, `${url}?force=true`, body);
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({ message: 'Object is not valid', details: [{ path, errors: ['is not a known field'] }] });
  });

  it('refuses instances past what the proto carries (422), so listing apps keeps working', async () => {
    const answer = await api('POST', '/v2/apps', { ...WEB, instances: 4294967296 });
    expect(answer).toMatchObject({ status: 422, body: { details: [{ path: '/instances', errors: ['must be at most 100000'] }] } });
    const backoff = await api('POST', '/v2/apps', { ...WEB, backoffSeconds: 3_000_000, healthChecks: [{ protocol: 'HTTP', intervalSeconds: 3_000_000 }] });
    expect(backoff.body.details).toEqual([
      { path: '/backoffSeconds', errors: ['must be at most 604800'] },
      { path: '/healthChecks(0)/intervalSeconds', errors: ['must be at most 604800'] },
    ]);
    expect(await api('GET', '/v2/apps')).toMatchObject({ status: 200, body: { apps: [] } });
  });

  it('400 with a message on malformed JSON', async () => {
    const answer = await api('POST', '/v2/apps', '{"id": "/x", "cmd": ');
    expect(answer).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^Invalid JSON/) } });
  });

  it.each([
    { method: 'GET', url: '/v2/apps/nope', message: "App '/nope' does not exist" },
    { method: 'PATCH', url: '/v2/apps/nope', message: "App '/nope' does not exist", body: { instances: 1 } },
    { method: 'DELETE', url: '/v2/apps/nope', message: "App '/nope' does not exist" },
    { method: 'POST', url: '/v2/apps/nope/restart', message: "App '/nope' does not exist" },
    { method: 'GET', url: '/v2/apps/nope/tasks', message: "App '/nope' does not exist" },
    { method: 'GET', url: '/v2/apps/nope/versions', message: "App '/nope' does not exist" },
    { method: 'GET', url: '/v2/apps/prod/web/versions/2001-01-01T00:00:00.000Z', message: 'version 2001-01-01T00:00:00.000Z of app /prod/web not found' },
    { method: 'DELETE', url: '/v2/apps/prod/web/tasks/prod_web.nope', message: "Task 'prod_web.nope' does not exist" },
    { method: 'GET', url: '/v2/deployments/nope', message: 'DeploymentPlan nope does not exist' },
    { method: 'DELETE', url: '/v2/deployments/nope', message: 'DeploymentPlan nope does not exist' },
    { method: 'GET', url: '/v2/groups', message: 'GET /v2/groups is not part of the API' },
    { method: 'POST', url: '/v2/apps/prod/web', message: 'POST /v2/apps/prod/web is not part of the API', body: { cmd: 'x' } },
  ])('404 {message}: $method $url', async ({ method, url, message, body }) => {
    await api('POST', '/v2/apps', WEB);
    expect(await api(method, url, body)).toMatchObject({ status: 404, body: { message } });
  });

  it('versions: the list, newest first, and one version\'s definition', async () => {
    const v1 = (await api('POST', '/v2/apps', WEB)).body.version as string;
    const v2 = (await api('PUT', '/v2/apps/prod/web?force=true', { ...WEB, cmd: 'sleep 601' })).body.version as string;
    expect((await api('GET', '/v2/apps/prod/web/versions')).body).toEqual({ versions: [v2, v1] });
    const old = await api('GET', `/v2/apps/prod/web/versions/${v1}`);
    expect(old.status).toBe(200);
    expect(old.body).toMatchObject({ id: '/prod/web', cmd: 'sleep 600', version: v1 });
    expect(old.body).not.toHaveProperty('tasksRunning');
  });

  it('versions: a scale is a version of its own, and versionInfo tells it from a config change (as in Marathon)', async () => {
    const v1 = (await api('POST', '/v2/apps', WEB)).body.version as string;
    const scale = (await api('PATCH', '/v2/apps/prod/web?force=true', { instances: 3 })).body.version as string;
    expect(scale > v1).toBe(true);
    expect((await api('GET', '/v2/apps/prod/web/versions')).body).toEqual({ versions: [scale, v1] });
    expect((await api('GET', `/v2/apps/prod/web/versions/${scale}`)).body).toMatchObject({ instances: 3, version: scale });
    expect((await api('GET', `/v2/apps/prod/web/versions/${v1}`)).body).toMatchObject({ instances: 2, version: v1 });
    expect((await api('GET', '/v2/apps/prod/web')).body.app).toMatchObject({ instances: 3, version: scale, versionInfo: { lastScalingAt: scale, lastConfigChangeAt: v1 } });
    // PUT without instances keeps the scaled count: the same definition again changes nothing.
    expect((await api('PUT', '/v2/apps/prod/web', WEB_WITHOUT_INSTANCES)).body).toEqual({ version: scale, deploymentId: null });
  });

  it('restart answers {version, deploymentId} of a RestartApplication deployment', async () => {
    await api('POST', '/v2/apps', { id: '/r', cmd: 'true', instances: 0 });
    await until(() => api('GET', '/v2/deployments'), (a) => a.body.length === 0);
    const restart = await api('POST', '/v2/apps/r/restart');
    expect(restart).toMatchObject({ status: 200, body: { version: expect.stringMatching(ISO), deploymentId: expect.stringMatching(UUID) } });
    const listed = (await api('GET', `/v2/deployments/${restart.body.deploymentId}`)).body;
    expect(listed).toMatchObject({ version: restart.body.version, steps: [{ actions: [{ action: 'RestartApplication', app: '/r' }] }] });
  });

  it('DELETE removes the app at once: {version, deploymentId: null}, then 404', async () => {
    await api('POST', '/v2/apps', { id: '/gone', cmd: 'true', instances: 0 });
    // The app is locked until its (empty) deployment ends, as in Marathon.
    await until(() => api('GET', '/v2/deployments'), (a) => a.body.length === 0);
    const deleted = await api('DELETE', '/v2/apps/gone');
    expect(deleted).toMatchObject({ status: 200, body: { version: expect.stringMatching(ISO), deploymentId: null } });
    expect((await api('GET', '/v2/apps/gone')).status).toBe(404);
  });

  it.each([
    { name: 'Marathon 1.4', answer: MARATHON_1_4_APP_ANSWER },
    { name: 'Marathon 1.9', answer: MARATHON_1_9_APP_ANSWER },
  ])('a $name GET /v2/apps/{id} answer deploys unchanged, and Drover\'s own GET answer goes back unchanged', async ({ answer }) => {
    const created = await api('POST', '/v2/apps', answer.app);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: answer.app.id, instances: answer.app.instances, deployments: [{ id: expect.stringMatching(UUID) }] });
    const got = (await api('GET', `/v2/apps${answer.app.id}`)).body.app;
    const again = await api('PUT', `/v2/apps${answer.app.id}`, got);
    expect(again).toMatchObject({ status: 200, body: { version: got.version, deploymentId: null } });
    const alsoViaPost = await api('POST', '/v2/apps', { ...answer.app, id: `${answer.app.id}-copy` });
    expect(alsoViaPost.status).toBe(201);
  });
});

describe('tasks', () => {
  it('GET /v2/apps/{id}/tasks and /v2/tasks in Marathon\'s shape, with health check results and the last failure', async () => {
    const a = await agent();
    await api('POST', '/v2/apps', { ...WEB, portDefinitions: [{ port: 0, name: 'http' }] });
    const ids = [(await a.next('launch')).task?.taskId ?? '', (await a.next('launch')).task?.taskId ?? ''];
    for (const id of ids) await run(a, id);
    const [good, bad] = ids as [string, string];
    const healthy = a.status(good, TaskState.TASK_STATE_RUNNING, { health: HealthState.HEALTH_STATE_HEALTHY });
    const sick = a.status(bad, TaskState.TASK_STATE_RUNNING, { health: HealthState.HEALTH_STATE_UNHEALTHY, healthFailures: 2, healthMessage: 'HTTP 503 from /health' });
    for (const uuid of [healthy, sick]) await a.next('ack', 5000, (x) => x.uuid === uuid);

    const tasks = (await api('GET', '/v2/apps/prod/web/tasks')).body.tasks as Json[];
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const agentId = a.register.agentId;
    expect(byId.get(good)).toEqual({
      id: good,
      appId: '/prod/web',
      host: 'node-1.test',
      ports: [expect.any(Number)],
      slaveId: agentId,
      state: 'TASK_RUNNING',
      stagedAt: expect.stringMatching(ISO),
      startedAt: expect.stringMatching(ISO),
      version: expect.stringMatching(ISO),
      healthCheckResults: [{ alive: true, consecutiveFailures: 0, firstSuccess: null, lastFailure: null, lastSuccess: null, lastFailureCause: null, taskId: good }],
    });
    expect(byId.get(bad)?.healthCheckResults).toEqual([expect.objectContaining({ alive: false, consecutiveFailures: 2, lastFailureCause: 'HTTP 503 from /health', taskId: bad })]);
    expect(((await api('GET', '/v2/tasks')).body.tasks as Json[]).map((t) => t.id).sort()).toEqual([...ids].sort());
    expect((await api('GET', '/v2/apps/prod/web')).body.app).toMatchObject({ tasksRunning: 2, tasksHealthy: 1, tasksUnhealthy: 1, tasks: expect.any(Array) });

    a.status(bad, TaskState.TASK_STATE_FAILED, { exitCode: 1, message: 'exited with status 1' });
    const failed = await until(() => api('GET', '/v2/apps/prod/web'), (x) => x.body.app.lastTaskFailure !== undefined);
    expect(failed.body.app.lastTaskFailure).toEqual({
      appId: '/prod/web',
      host: 'node-1.test',
      message: 'exited with status 1',
      state: 'TASK_FAILED',
      taskId: bad,
      timestamp: expect.stringMatching(ISO),
      version: expect.stringMatching(ISO),
      slaveId: agentId,
    });
  });

  it('DELETE a task answers {task} and the app replaces it; with scale=true it answers {version, deploymentId} and the app shrinks', async () => {
    const a = await agent();
    await api('POST', '/v2/apps', { id: '/k', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 2 });
    const ids = [(await a.next('launch')).task?.taskId ?? '', (await a.next('launch')).task?.taskId ?? ''];
    for (const id of ids) await run(a, id);
    await until(() => api('GET', '/v2/deployments'), (x) => x.body.length === 0);
    const [first, second] = ids as [string, string];

    const killed = await api('DELETE', `/v2/apps/k/tasks/${first}`);
    expect(killed).toMatchObject({ status: 200, body: { task: { id: first, appId: '/k', state: 'TASK_RUNNING' } } });
    expect((await a.next('kill')).taskId).toBe(first);
    a.status(first, TaskState.TASK_STATE_KILLED);
    const replacement = (await a.next('launch')).task?.taskId ?? '';
    await run(a, replacement);
    await until(() => api('GET', '/v2/deployments'), (x) => x.body.length === 0);

    const scaled = await api('DELETE', `/v2/apps/k/tasks/${second}?scale=true`);
    expect(scaled).toMatchObject({ status: 200, body: { version: expect.stringMatching(ISO), deploymentId: expect.stringMatching(UUID) } });
    expect((await a.next('kill')).taskId).toBe(second);
    a.status(second, TaskState.TASK_STATE_KILLED);
    expect((await api('GET', '/v2/apps/k')).body.app.instances).toBe(1);
    await until(() => api('GET', '/v2/deployments'), (x) => x.body.length === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.drain('launch')).toEqual([]);
    expect(a.drain('kill')).toEqual([]);
    expect(((await api('GET', '/v2/apps/k/tasks')).body.tasks as Json[]).map((t) => t.id)).toEqual([replacement]);

    await api('POST', '/v2/apps', { id: '/other', cmd: 'true', instances: 0 });
    expect(await api('DELETE', `/v2/apps/other/tasks/${replacement}`)).toMatchObject({ status: 404, body: { message: `Task '${replacement}' does not exist` } });
  });
});

describe('deployments', () => {
  it('GET /v2/deployments answers Marathon\'s DeploymentStepInfo list', async () => {
    const created = await api('POST', '/v2/apps', WEB);
    const listed = await api('GET', '/v2/deployments');
    expect(listed).toMatchObject({ status: 200 });
    expect(listed.body).toEqual([
      {
        id: created.body.deployments[0].id,
        version: created.body.version,
        affectedApps: ['/prod/web'],
        affectedPods: [],
        steps: [{ actions: [{ action: 'StartApplication', app: '/prod/web' }] }],
        currentActions: [{ action: 'StartApplication', app: '/prod/web', readinessCheckResults: [] }],
        currentStep: 1,
        totalSteps: 1,
      },
    ]);
  });

  it('DELETE rolls back, answering the rollback\'s {version, deploymentId}; with force=true it just stops: 202, no body', async () => {
    const v1 = (await api('POST', '/v2/apps', WEB)).body.version as string;
    const change = await api('PUT', '/v2/apps/prod/web?force=true', { ...WEB, cmd: 'sleep 601' });
    const rolledBack = await api('DELETE', `/v2/deployments/${change.body.deploymentId}`);
    expect(rolledBack).toMatchObject({ status: 200, body: { version: v1, deploymentId: expect.stringMatching(UUID) } });
    expect((await api('GET', '/v2/deployments')).body.map((d: Json) => d.id)).toEqual([rolledBack.body.deploymentId]);
    expect((await api('GET', '/v2/apps/prod/web')).body.app).toMatchObject({ cmd: 'sleep 600', version: v1 });

    const stopped = await api('DELETE', `/v2/deployments/${rolledBack.body.deploymentId}?force=true`);
    expect(stopped).toMatchObject({ status: 202, text: '' });
    expect((await api('GET', '/v2/deployments')).body).toEqual([]);
    expect(await api('DELETE', `/v2/deployments/${rolledBack.body.deploymentId}`)).toMatchObject({ status: 409, body: { message: expect.stringMatching(/not running/) } });
  });
});

describe('server', () => {
  it('/v2/info, /v2/leader and /ping', async () => {
    const address = `127.0.0.1:${master.httpPort}`;
    const info = await api('GET', '/v2/info');
    expect(info.body).toMatchObject({
      name: 'drover',
      version: expect.any(String),
      elected: true,
      leader: address,
      frameworkId: null,
      marathon_config: { master: master.grpcAddress, framework_name: 'drover', hostname: '127.0.0.1', ha: false },
      http_config: { http_port: master.httpPort, https_port: null },
    });
    expect(await api('GET', '/v2/leader')).toMatchObject({ status: 200, body: { leader: address } });
    expect(await api('DELETE', '/v2/leader')).toMatchObject({ status: 501, body: { message: expect.any(String) } });
    expect(await api('GET', '/ping')).toMatchObject({ status: 200, text: 'pong' });
  });
});
