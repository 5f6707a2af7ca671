/**
 * What a master restart keeps (and so a failover, where the new leader loads
 * the same records and takes a larger epoch):
 * - a crash-looping app stays delayed: the launch backoff is persisted with
 *   the app when a task fails, not kept only in the memory of the master
 *   that saw the failure;
 * - event ids keep growing, so a client resuming with the last id it saw
 *   gets the new master's events instead of nothing until the ids catch up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { type Event, EventsClient, TaskState, type TaskSpec } from '@drover/proto';
import { credentials } from '@grpc/grpc-js';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EVENT_IDS_PER_EPOCH } from './events/event-bus.js';
import type { RunningMaster } from './master-options.js';
import { startMaster } from './master.js';
import { FakeAgent, run } from './testing/fake-agent.js';
import { masterClients, until } from './testing/master-clients.js';

let dataDir: string;
let master: RunningMaster | undefined;
const agents: FakeAgent[] = [];

async function start(): Promise<RunningMaster> {
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, logger: silentLogger() });
  return master;
}

async function stop(): Promise<void> {
  for (const a of agents.splice(0)) a.close();
  await master?.stop();
  master = undefined;
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-backoff-restart-'));
});

afterEach(async () => {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('keeps an app’s launch delay across a master restart', async () => {
  let m = await start();
  const register = FakeAgent.registration({ hostname: 'node-1' });
  let agent = new FakeAgent(`127.0.0.1:${m.grpcPort}`, register);
  agents.push(agent);
  await agent.connect();
  let c = masterClients(m);
  await c.deploy({ id: 'crashy', cmd: 'exit 1', cpus: 0.1, mem: 16, instances: 1, backoffSeconds: 60, backoffFactor: 2 });
  const spec = (await agent.next('launch')).task as TaskSpec;
  await run(agent, spec.taskId);
  const uuid = agent.status(spec.taskId, TaskState.TASK_STATE_FAILED, { exitCode: 1 });
  await agent.next('ack', 5000, (a) => a.uuid === uuid);
  const before = await until(
    () => c.getApp('/crashy'),
    (app) => app.status?.consecutiveFailures === 1,
  );
  expect(before.status?.launchDelaySeconds).toBe(60);
  c.close();
  await stop();

  m = await start();
  c = masterClients(m);
  agent = new FakeAgent(`127.0.0.1:${m.grpcPort}`, { ...register, epoch: m.epoch - 1 });
  agents.push(agent);
  await agent.connect();
  const after = await c.getApp('/crashy');
  expect(after.status).toMatchObject({ consecutiveFailures: 1, launchDelaySeconds: 60, nextLaunchAt: before.status?.nextLaunchAt });
  // Many reconcile passes with a free agent: still delayed, nothing launched
  // (a master that forgot the failure launches on its first pass).
  await new Promise((r) => setTimeout(r, 1500));
  expect(agent.drain('launch')).toEqual([]);
  c.close();
});

/** The first `count` events of a Watch from `afterId`. */
async function watch(m: RunningMaster, afterId: number, count: number): Promise<Event[]> {
  const client = new EventsClient(`127.0.0.1:${m.grpcPort}`, credentials.createInsecure());
  const call = client.watch({ types: [], afterId });
  const events: Event[] = [];
  try {
    for await (const event of call as AsyncIterable<Event>) {
      events.push(event);
      if (events.length === count) break;
    }
  } finally {
    call.cancel();
    client.close();
  }
  return events;
}

it('keeps event ids growing across a master restart, so Last-Event-ID resumes', async () => {
  let m = await start();
  let c = masterClients(m);
  const first = watch(m, 0, 1);
  await c.deploy({ id: 'one', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 0 });
  const [seen] = await first;
  expect(seen?.id).toBeGreaterThanOrEqual(m.epoch * EVENT_IDS_PER_EPOCH);
  c.close();
  await stop();

  m = await start();
  c = masterClients(m);
  // The client resumes with the last id it saw, from the earlier master.
  const resumed = watch(m, seen?.id ?? 0, 1);
  await c.deploy({ id: 'two', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 0 });
  const [next] = await resumed;
  expect(next?.id).toBeGreaterThan(seen?.id ?? Number.MAX_SAFE_INTEGER);
  expect(next?.id).toBeGreaterThanOrEqual(m.epoch * EVENT_IDS_PER_EPOCH);
  c.close();
});
