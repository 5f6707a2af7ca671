/**
 * scripts/bench/store: what a durable commit of the master's state costs.
 *
 * Part "commit" (SQLite only): how much of a commit the master's event loop
 * pays. Batches of task records (as the master writes them when it places
 * or hears from tasks) are committed one after the other, as ClusterState's
 * group commit does, to
 *
 *   inline  SQLite on the calling thread, as the master did before its store
 *           moved to a worker thread: the event loop waits for every commit,
 *           fsync included;
 *   worker  the SqliteStore the master uses: the event loop only hands the
 *           batch over (a structured clone) and is free until the commit's
 *           promise resolves.
 *
 * Between batches the loop yields (setImmediate), as the group commit does,
 * so timers get their turn. Reported per mode and batch size: tasks
 * committed per second, the event loop's time inside each commit call (p50
 * and p99, ms), and the event loop's delay while committing (p99 and max,
 * from perf_hooks' monitorEventLoopDelay at 1 ms resolution).
 *
 * Part "backends": SQLite against etcd (one member, and three on this
 * machine's loopback, started with the limits the etcd store requires).
 * Apps created per second through the store, each creation one commit of an
 * app, its version and its deployment as the app service writes them: one
 * at a time (each awaited, what a lone client sees) and 64 in flight (what
 * the store's batching makes of concurrent clients). Then the time a
 * freshly opened store takes to load 10,000 apps and 100,000 tasks.
 *
 *   scripts/bench/store [--part commit|backends|all] [--tasks 20000]
 *                       [--apps 1000] [--load-apps 10000] [--load-tasks 100000] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { EtcdCluster } from '../../packages/common/src/testing/etcd-cluster.js';
import type { Mutation } from '../../packages/master/src/model/mutation.js';
import type { AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../../packages/master/src/model/records.js';
import { ETCD_MEMBER_FLAGS } from '../../packages/master/src/store/etcd-limits.js';
import { EtcdStore } from '../../packages/master/src/store/etcd-store.js';
import { SqliteDatabase } from '../../packages/master/src/store/sqlite-database.js';
import { SqliteStore } from '../../packages/master/src/store/sqlite-store.js';
import type { Store } from '../../packages/master/src/store/store.js';
import { AppSpec } from '../../packages/proto/src/index.js';
import { percentile, printTable, round, saveResult } from './bench-support.js';

const { values } = parseArgs({
  options: {
    part: { type: 'string', default: 'all' },
    tasks: { type: 'string', default: '20000' },
    apps: { type: 'string', default: '1000' },
    'load-apps': { type: 'string', default: '10000' },
    'load-tasks': { type: 'string', default: '100000' },
    json: { type: 'boolean', default: false },
  },
});
const total = Number(values.tasks);
if (!['commit', 'backends', 'all'].includes(values.part)) throw new Error(`--part must be commit, backends or all (not ${values.part})`);

function task(i: number): TaskRecord {
  return {
    id: `/bench/app-${i % 20}.${i.toString(36)}-${'x'.repeat(24)}`,
    appId: `/bench/app-${i % 20}`,
    appVersion: '2026-01-01T00:00:00.000Z',
    agentId: `agent-${i % 1000}`,
    host: `sim-${i % 1000}`,
    state: 'RUNNING',
    resources: { cpus: 0.01, mem: 8, disk: 0, gpus: 0 },
    ports: [{ number: 31000 + (i % 1000), name: 'http', protocol: 'tcp' }],
    stagedAt: 1_767_225_600_000 + i,
    startedAt: 1_767_225_600_100 + i,
    updatedAt: 1_767_225_600_100 + i,
    killRequested: false,
    killGracePeriodSeconds: 3,
    pid: 10_000 + i,
  };
}

interface Committer {
  commit(batch: readonly Mutation[]): Promise<void> | void;
  close(): Promise<void> | void;
}

async function open(mode: 'inline' | 'worker', dir: string): Promise<Committer> {
  if (mode === 'worker') return SqliteStore.open(dir);
  const db = SqliteDatabase.open(dir, false);
  if (!(db instanceof SqliteDatabase)) throw new Error(db.what);
  return { commit: (batch) => db.commit(batch, undefined), close: () => db.close() };
}

async function run(mode: 'inline' | 'worker', batchSize: number): Promise<Record<string, number | string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-store-'));
  const store = await open(mode, dir);
  const batches = Math.max(20, Math.ceil(total / batchSize));
  const prepared = Array.from({ length: batches }, (_, b) => Array.from({ length: batchSize }, (_, i): Mutation => ({ kind: 'putTask', task: task(b * batchSize + i) })));
  const inCall: number[] = [];
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const t0 = performance.now();
  for (const batch of prepared) {
    const called = performance.now();
    const done = store.commit(batch);
    inCall.push(performance.now() - called);
    await done;
    await new Promise((r) => setImmediate(r));
  }
  const seconds = (performance.now() - t0) / 1000;
  delay.disable();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    mode,
    'batch size': batchSize,
    'tasks/s': round((batches * batchSize) / seconds),
    'loop ms per commit p50': round(percentile(inCall, 50), 2),
    p99: round(percentile(inCall, 99), 2),
    'loop delay p99 ms': round(delay.percentile(99) / 1e6, 1),
    max: round(delay.max / 1e6, 1),
  };
}

if (values.part !== 'backends') {
  const rows: Array<Record<string, number | string>> = [];
  for (const size of [1, 100, 1000]) {
    for (const mode of ['inline', 'worker'] as const) rows.push(await run(mode, size));
  }
  const file = saveResult('store', rows);
  if (values.json) console.log(JSON.stringify(rows));
  else {
    printTable(rows);
    console.log(`written to ${file}`);
  }
}

// ---- Part "backends": SQLite against etcd. ----

function app(i: number): AppRecord {
  const id = `/bench/group-${i % 50}/app-${i}`;
  const spec = AppSpec.fromPartial({
    id,
    cmd: 'exec ./serve --port $PORT0',
    cpus: 0.1,
    mem: 64,
    instances: 10,
    env: { MODE: 'production', REGION: 'eu-1' },
    labels: { team: `team-${i % 20}` },
  });
  return { spec, version: '2026-01-01T00:00:00.000Z', createdAt: 1_767_225_600_000 + i };
}

function creation(i: number): Mutation[] {
  const a = app(i);
  const version: VersionRecord = { appId: a.spec.id, version: a.version, spec: a.spec };
  const deployment: DeploymentRecord = {
    id: `deployment-${i}`,
    appId: a.spec.id,
    kind: 'CREATE',
    state: 'RUNNING',
    version: a.version,
    fromVersion: '',
    targetInstances: 10,
    minHealthy: 10,
    maxLive: 20,
    progressDeadlineMs: 600_000,
    startedAt: a.createdAt,
    lastProgressAt: a.createdAt,
    progressMark: '0/10',
  };
  return [{ kind: 'putApp', app: a }, { kind: 'putVersion', version }, { kind: 'putDeployment', deployment }];
}

interface Backend {
  readonly name: string;
  /** Opens a store on a new, empty place; `again` opens another on the same place. */
  start(): Promise<{ open(): Promise<Store>; dispose(): Promise<void> }>;
}

const sqliteBackend: Backend = {
  name: 'sqlite',
  async start() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-store-'));
    return { open: () => SqliteStore.open(dir), dispose: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  },
};

function etcdBackend(members: number): Backend {
  return {
    name: `etcd x${members}`,
    async start() {
      const cluster = await EtcdCluster.start({ members, extraArgs: ETCD_MEMBER_FLAGS, heartbeatMs: 100, electionTimeoutMs: 1000 });
      return { open: () => EtcdStore.open({ endpoints: cluster.endpoints, prefix: '/bench' }), dispose: () => cluster.stop() };
    },
  };
}

/** Apps created per second, `inFlight` commits at a time. */
async function createApps(store: Store, count: number, inFlight: number, offset: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        await store.commit(creation(offset + i));
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

async function measureBackend(backend: Backend): Promise<Record<string, number | string>> {
  const place = await backend.start();
  try {
    const store = await place.open();
    // As a master starts: a new term (SQLite refuses to reopen records without one).
    await store.nextGeneration();
    const count = Number(values.apps);
    const oneAtATime = await createApps(store, count, 1, 0);
    const concurrent = await createApps(store, count * 4, 64, count);
    await store.close();

    // A separate place for the load: exactly the apps and tasks asked for.
    const loadPlace = await backend.start();
    try {
      const writer = await loadPlace.open();
      await writer.nextGeneration();
      const loadApps = Number(values['load-apps']);
      const loadTasks = Number(values['load-tasks']);
      const t0 = performance.now();
      for (let i = 0; i < loadApps; i += 5000) await writer.commit(Array.from({ length: Math.min(5000, loadApps - i) }, (_, j): Mutation => ({ kind: 'putApp', app: app(i + j) })));
      for (let i = 0; i < loadTasks; i += 10_000) await writer.commit(Array.from({ length: Math.min(10_000, loadTasks - i) }, (_, j): Mutation => ({ kind: 'putTask', task: task(i + j) })));
      const fillSeconds = (performance.now() - t0) / 1000;
      await writer.close();
      const reader = await loadPlace.open();
      const t1 = performance.now();
      const loaded = await reader.load();
      const loadSeconds = (performance.now() - t1) / 1000;
      await reader.close();
      if (loaded.apps.length !== loadApps || loaded.tasks.length !== loadTasks) throw new Error(`${backend.name} loaded ${loaded.apps.length} apps and ${loaded.tasks.length} tasks`);
      return {
        store: backend.name,
        'apps/s one at a time': round(oneAtATime),
        'apps/s 64 in flight': round(concurrent),
        'write 10k-task batches s': round(fillSeconds, 2),
        [`load ${loadApps} apps + ${loadTasks} tasks s`]: round(loadSeconds, 2),
      };
    } finally {
      await loadPlace.dispose();
    }
  } finally {
    await place.dispose();
  }
}

if (values.part !== 'commit') {
  const rows: Array<Record<string, number | string>> = [];
  for (const backend of [sqliteBackend, etcdBackend(1), etcdBackend(3)]) rows.push(await measureBackend(backend));
  const file = saveResult('store-backends', rows);
  if (values.json) console.log(JSON.stringify(rows));
  else {
    printTable(rows);
    console.log(`written to ${file}`);
  }
}
