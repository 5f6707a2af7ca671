/**
 * Loading a store written by an older master: health check delays filled
 * in as 15 s for every protocol, and values no current master accepts
 * (instances 4294967296, a backoff of 3,000,000 s, an agent with -1 GPUs
 * and a reversed port range). The pure upgrade, then a real master started
 * on such a store, listing over gRPC and REST.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, parseAppDefinition, silentLogger } from '@drover/common';
import { AgentsClient, App, AppsClient, type AppSpec, type GetAppResponse, HealthCheckProtocol, type ListAgentsResponse, type ListAppsResponse } from '@drover/proto';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMaster } from '../master.js';
import type { RunningMaster } from '../master-options.js';
import { SqliteStore } from './sqlite-store.js';
import type { StoredState } from './store.js';
import type { AgentRecord, AppRecord, VersionRecord } from '../model/records.js';
import { STORE_FORMAT, upgradeStoredState } from './stored-state-upgrade.js';

const { HEALTH_CHECK_PROTOCOL_HTTP: HTTP, HEALTH_CHECK_PROTOCOL_HTTPS: HTTPS, HEALTH_CHECK_PROTOCOL_TCP: TCP, HEALTH_CHECK_PROTOCOL_COMMAND: COMMAND } = HealthCheckProtocol;
const VERSION = '2025-06-01T00:00:00.000Z';

/** A spec as an older master stored it: its one check has `delaySeconds` as given here. */
function legacySpec(id: string, protocol: HealthCheckProtocol, delaySeconds: number, extra: Partial<AppSpec> = {}): AppSpec {
  const check = protocol === COMMAND ? { protocol: 'COMMAND', command: { value: 'true' } } : { protocol: HealthCheckProtocol[protocol].replace('HEALTH_CHECK_PROTOCOL_', '') };
  const spec = parseAppDefinition({ id, cmd: 'serve', cpus: 0.1, mem: 16, healthChecks: [check] });
  return { ...spec, healthChecks: spec.healthChecks.map((h) => ({ ...h, delaySeconds })), ...extra };
}

function app(spec: AppSpec): AppRecord {
  return { spec, version: VERSION, createdAt: 1 };
}

function version(spec: AppSpec): VersionRecord {
  return { appId: spec.id, version: VERSION, spec };
}

function stored(parts: Partial<StoredState>): StoredState {
  return { format: 0, apps: [], tasks: [], agents: [], versions: [], deployments: [], ...parts };
}

/** A logger whose lines the test reads. */
function recordingLogger(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger({ level: 'info', destination: { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) } }), lines };
}

const agentRecord: AgentRecord = {
  id: 'agent-old',
  hostname: 'old.test',
  address: 'old.test',
  // JSON stores Infinity and NaN as null: that is how they come back.
  total: { cpus: null as unknown as number, mem: -1, disk: 1000, gpus: -1 },
  ports: [{ begin: 32000, end: 31000 }, { begin: 31000, end: 31099 }],
  attributes: {},
  state: 'LOST',
  version: '0.0.9',
  registeredAt: 1,
  lastSeenAt: 1,
};

describe('upgrading stored records', () => {
  it.each([
    { name: 'HTTP, the old default', protocol: HTTP, stored: 15, format: 0, expected: 0 },
    { name: 'HTTPS, the old default', protocol: HTTPS, stored: 15, format: 0, expected: 0 },
    { name: 'TCP, the old default', protocol: TCP, stored: 15, format: 0, expected: 0 },
    { name: 'COMMAND keeps its 15', protocol: COMMAND, stored: 15, format: 0, expected: 15 },
    { name: 'HTTP with a delay that was no default', protocol: HTTP, stored: 7, format: 0, expected: 7 },
    { name: 'HTTP already 0', protocol: HTTP, stored: 0, format: 0, expected: 0 },
    { name: 'HTTP 15 in an upgraded store is the user\'s', protocol: HTTP, stored: 15, format: 1, expected: 15 },
  ])('$name: delaySeconds $stored -> $expected (format $format)', ({ protocol, stored: delay, format, expected }) => {
    const spec = legacySpec('/web', protocol, delay);
    const { state, rewrites } = upgradeStoredState(stored({ format, apps: [app(spec)], versions: [version(spec)] }), silentLogger());
    expect(state.apps[0]?.spec.healthChecks[0]?.delaySeconds).toBe(expected);
    expect(state.versions[0]?.spec.healthChecks[0]?.delaySeconds).toBe(expected);
    expect(rewrites.map((m) => m.kind)).toEqual(expected === delay ? [] : ['putApp', 'putVersion']);
  });

  it('clamps numbers no current master accepts, loudly, in apps, versions, one-off tasks and agents', () => {
    const spec = legacySpec('/huge', HTTP, 0, { instances: 4294967296, backoffSeconds: 3_000_000, maxLaunchDelaySeconds: 3_000_000 });
    const withCheck = { ...spec, healthChecks: spec.healthChecks.map((h) => ({ ...h, intervalSeconds: 3_000_000 })) };
    const task = { id: 'run.1', appId: '', appVersion: '', agentId: '', host: '', state: 'PENDING', resources: { cpus: 1, mem: 1, disk: 0, gpus: 0 }, ports: [], stagedAt: 1, updatedAt: 1, killRequested: false, killGracePeriodSeconds: 3, runSpec: { ...withCheck, id: '/run', taskKillGracePeriodSeconds: 1e9 } } as const;
    const { log, lines } = recordingLogger();
    const { state, rewrites } = upgradeStoredState(stored({ format: 1, apps: [app(withCheck)], versions: [version(withCheck)], tasks: [task], agents: [agentRecord] }), log);
    expect(state.apps[0]?.spec).toMatchObject({ instances: 100_000, backoffSeconds: 604_800, maxLaunchDelaySeconds: 604_800 });
    expect(state.apps[0]?.spec.healthChecks[0]?.intervalSeconds).toBe(604_800);
    expect(state.versions[0]?.spec.instances).toBe(100_000);
    expect(state.tasks[0]?.runSpec?.taskKillGracePeriodSeconds).toBe(604_800);
    expect(state.agents[0]).toMatchObject({ total: { cpus: 0, mem: 0, disk: 1000, gpus: 0 }, ports: [{ begin: 31000, end: 31099 }] });
    expect(rewrites.map((m) => m.kind)).toEqual(['putApp', 'putVersion', 'putTask', 'putAgent']);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatchObject({
      appId: '/huge',
      msg: 'stored record had values out of range; clamped to the nearest accepted value',
      changed: expect.arrayContaining([{ path: 'instances', from: 4294967296, to: 100_000 }, { path: 'healthChecks[0].intervalSeconds', from: 3_000_000, to: 604_800 }]),
    });
    // Clamped records are valid ones: a second load changes nothing.
    expect(upgradeStoredState(state, silentLogger()).rewrites).toEqual([]);
  });
});

describe('a master started on a store an older master wrote', () => {
  let dataDir: string;
  let master: RunningMaster | undefined;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-upgrade-'));
  });

  afterEach(async () => {
    await master?.stop();
    master = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  type Callback<Res> = (e: ServiceError | null, r?: Res) => void;
  const call = <Res>(invoke: (cb: Callback<Res>) => unknown): Promise<Res> =>
    new Promise((resolve, reject) => invoke((e, r) => (e ? reject(e) : resolve(r as Res))));

  async function start(): Promise<{ apps: AppsClient; agents: AgentsClient; close: () => void }> {
    master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, logger: silentLogger() });
    const address = `127.0.0.1:${master.grpcPort}`;
    const apps = new AppsClient(address, credentials.createInsecure());
    const agents = new AgentsClient(address, credentials.createInsecure());
    return { apps, agents, close: () => [apps, agents].forEach((c) => c.close()) };
  }

  /** Writes records the way an older master did: straight into the store, no format recorded. */
  async function writeLegacy(): Promise<void> {
    const store = await SqliteStore.open(dataDir);
    // An older master started a generation before writing anything, as masters still do.
    await store.nextGeneration();
    const web = legacySpec('/web', HTTP, 15);
    const huge = legacySpec('/huge', TCP, 15, { instances: 4294967296, backoffSeconds: 3_000_000 });
    await store.commit([
      { kind: 'putApp', app: app(web) },
      { kind: 'putVersion', version: version(web) },
      { kind: 'putApp', app: app(huge) },
      { kind: 'putVersion', version: version(huge) },
      { kind: 'putAgent', agent: agentRecord },
    ]);
    expect((await store.load()).format).toBe(0);
    await store.close();
  }

  it('lists every app and agent over gRPC and REST, with the new delay default, and records the upgrade', async () => {
    await writeLegacy();
    const c = await start();
    const apps = (await call<ListAppsResponse>((cb) => c.apps.list({}, cb))).apps;
    expect(apps.map((a) => [a.spec?.id, a.spec?.instances, a.spec?.healthChecks[0]?.delaySeconds])).toEqual([
      ['/huge', 100_000, 0],
      ['/web', 1, 0],
    ]);
    const agents = (await call<ListAgentsResponse>((cb) => c.agents.list({}, cb))).agents;
    expect(agents.map((a) => [a.hostname, a.total?.gpus, a.total?.ports])).toEqual([['old.test', 0, [{ begin: 31000, end: 31099 }]]]);
    const rest = await fetch(`http://127.0.0.1:${master?.httpPort}/v2/apps`);
    expect(rest.status).toBe(200);
    const versions = await fetch(`http://127.0.0.1:${master?.httpPort}/v2/apps/web/versions/${VERSION}`);
    expect(((await versions.json()) as { healthChecks: Array<{ delaySeconds: number }> }).healthChecks[0]?.delaySeconds).toBe(0);
    c.close();
    await master?.stop();
    master = undefined;

    const store = await SqliteStore.open(dataDir);
    const reloaded = await store.load();
    await store.close();
    expect(reloaded.format).toBe(STORE_FORMAT);
    expect(reloaded.apps.find((a) => a.spec.id === '/huge')?.spec.instances).toBe(100_000);
  });

  it('keeps a 15 s HTTP delay given after the upgrade, across restarts', async () => {
    await writeLegacy();
    let c = await start();
    const spec = parseAppDefinition({ id: 'slow', cmd: 'serve', cpus: 0.1, mem: 16, healthChecks: [{ protocol: 'HTTP', delaySeconds: 15 }] });
    await call((cb) => c.apps.deploy({ app: spec, force: true }, cb));
    c.close();
    await master?.stop();
    c = await start();
    const got = await call<GetAppResponse>((cb) => c.apps.get({ id: '/slow' }, cb));
    expect(App.fromPartial(got.app ?? {}).spec?.healthChecks[0]?.delaySeconds).toBe(15);
    c.close();
  });
});
