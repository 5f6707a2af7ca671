/**
 * scripts/bench/store: what a durable commit of the master's state costs,
 * and how much of it the master's event loop pays. Batches of task records
 * (as the master writes them when it places or hears from tasks) are
 * committed one after the other, as ClusterState's group commit does, to
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
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Mutation } from '../../packages/master/src/model/mutation.js';
import type { TaskRecord } from '../../packages/master/src/model/records.js';
import { SqliteDatabase } from '../../packages/master/src/store/sqlite-database.js';
import { SqliteStore } from '../../packages/master/src/store/sqlite-store.js';
import { percentile, printTable, round, saveResult } from './bench-support.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    json: { type: 'boolean', default: false },
  },
});
const total = Number(values.tasks);

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
