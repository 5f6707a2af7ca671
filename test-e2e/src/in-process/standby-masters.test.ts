/**
 * Several masters, one leader, everything real but the election: a leader
 * (SQLite) and two standbys whose ControlledLeadership names it, plus one
 * master that knows no leader (an election under way). Agents, the typed
 * client and the CLI are each given a list of masters and must find the
 * leader by themselves. (What a standby answers on HTTP, REST and SSE
 * proxying included, is tested at the master: master-standby.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { type RunningAgent, startAgent } from '@drover/agent';
import { DroverClient } from '@drover/client';
import { NotLeaderError, silentLogger } from '@drover/common';
import { freePort } from '@drover/common/testing';
import { type RunningMaster, startMaster } from '@drover/master';
import { AgentState, AppSpec, type Event, TaskState } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../packages/cli/src/testing/run-cli.js';
import { ControlledLeadership } from '../../../packages/master/src/testing/controlled-leadership.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

const root = tempDir('standby-masters');
let leader: RunningMaster;
const standbys: RunningMaster[] = [];
let orphan: RunningMaster;
let dead: string;
const agents: RunningAgent[] = [];
const clients: DroverClient[] = [];
const grpc = (m: RunningMaster) => `127.0.0.1:${m.grpcPort}`;

function master(name: string, leadership?: (l: ControlledLeadership) => void): Promise<RunningMaster> {
  return startMaster({
    dataDir: path.join(root, name),
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    logger: silentLogger(),
    ...(leadership ? { leadership: (epoch) => standby(epoch, leadership) } : {}),
  });
}

/** A standby's leadership, handed to `setup` (which tells it who leads, if anyone). */
function standby(epoch: ConstructorParameters<typeof ControlledLeadership>[0], setup: (l: ControlledLeadership) => void): ControlledLeadership {
  const l = new ControlledLeadership(epoch, false);
  setup(l);
  return l;
}

function client(masters: string[]): DroverClient {
  const c = new DroverClient(masters);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  leader = await master('leader');
  const leaderInfo = { grpc: grpc(leader), http: `127.0.0.1:${leader.httpPort}`, epoch: leader.epoch };
  const views: ControlledLeadership[] = [];
  for (const name of ['standby-1', 'standby-2']) standbys.push(await master(name, (l) => views.push(l)));
  for (const v of views) {
    v.follow(leaderInfo);
    v.knowMasters([leaderInfo, ...standbys.map((s) => ({ grpc: grpc(s), http: `127.0.0.1:${s.httpPort}` }))]);
  }
  orphan = await master('orphan', () => undefined);
  dead = `127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const a of agents) await a.stop({ killTasks: true });
  await Promise.all([leader, ...standbys, orphan].map((m) => m?.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

describe('an agent given several masters', () => {
  it('skips a dead one, follows a standby to the leader and registers there only', async () => {
    const agent = await startAgent({
      master: [dead, grpc(standbys[0]!), grpc(leader)],
      workDir: path.join(root, 'agent'),
      hostname: 'standby-test-agent',
      resources: { cpus: 2, mem: 1024, disk: 512, ports: [{ begin: 32400, end: 32409 }] },
      reconnectDelayMs: 20,
      logger: silentLogger(),
    });
    agents.push(agent);
    const id = await agent.registered();
    const c = client([grpc(leader)]);
    expect((await c.listAgents()).map((a) => a.id)).toEqual([id]);
    expect((await c.clusterInfo()).agentsActive).toBe(1);
    for (const s of standbys) expect((await client([grpc(s)]).clusterInfo()).agentsActive).toBe(0);
  });
});

describe('an agent that loses its leader without a redirect', () => {
  it('moves on to the next configured master and registers with the leader there', async () => {
    // The leader moves: the same master (same store) comes back on the second address of the list.
    const dataDir = path.join(root, 'moving-leader');
    const second = await freePort();
    const first = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, agentLostTimeoutMs: 2_000, logger: silentLogger() });
    let moved: RunningMaster | undefined;
    const agent = await startAgent({
      master: [grpc(first), `127.0.0.1:${second}`],
      workDir: path.join(root, 'moving-agent'),
      hostname: 'moving-agent',
      resources: { cpus: 1, mem: 256, disk: 128, ports: [{ begin: 32410, end: 32419 }] },
      reconnectDelayMs: 20,
      maxReconnectDelayMs: 200,
      logger: silentLogger(),
    });
    try {
      const id = await agent.registered();
      await first.stop();
      moved = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: second, httpPort: 0, agentLostTimeoutMs: 2_000, logger: silentLogger() });
      const c = client([grpc(moved)]);
      await waitFor('the agent to register with the moved leader', () => c.listAgents(), (as) => as.some((a) => a.id === id && a.state === AgentState.AGENT_STATE_ACTIVE));
    } finally {
      await agent.stop();
      await moved?.stop();
    }
  });
});

describe('the typed client given several masters', () => {
  it.each([
    { name: '[standby, leader]', masters: () => [grpc(standbys[0]!), grpc(leader)], app: '/via-standby' },
    { name: '[dead, standby, leader]', masters: () => [dead, grpc(standbys[1]!), grpc(leader)], app: '/via-dead' },
    { name: '[no leader known, standby] (a leader nobody listed)', masters: () => [grpc(orphan), grpc(standbys[0]!)], app: '/via-orphan' },
  ])('$name: creates an app at the leader and streams its events', async ({ masters, app }) => {
    const c = client(masters());
    const events: Event[] = [];
    const stop = new AbortController();
    const watching = c.watchEvents({}, (e) => events.push(e), stop.signal);
    const { created } = await c.deployApp(AppSpec.fromPartial({ id: app, cmd: 'sleep 60', cpus: 0.1, mem: 16, instances: 1 }));
    expect(created).toBe(true);
    expect(c.address).toBe(grpc(leader));
    await waitFor(
      `${app} running, seen on the event stream`,
      () => events,
      (es) => es.some((e) => e.type === 'status_update_event' && e.payload?.$case === 'taskStatus' && e.payload.value.task?.appId === app && e.payload.value.task.state === TaskState.TASK_STATE_RUNNING),
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; events: ${events.map((e) => e.type).join(',')}`);
    });
    stop.abort();
    await watching;
    expect((await client([grpc(leader)]).getApp(app)).spec?.id).toBe(app);
    await c.deleteApp(app, { force: true });
  });

  it('[standby, leader]: runs a one-off task, waiting for its end, and reads its log', async () => {
    const c = client([grpc(standbys[0]!), grpc(leader)]);
    const updates: string[] = [];
    // Bounded, so a task that never ends fails with what the leader knows instead of hanging.
    const task = await c
      .runTask({ cmd: 'echo through-a-standby', name: 'one-off', cpus: 0.1, mem: 16, wait: true }, (t) => updates.push(TaskState[t.state]), AbortSignal.timeout(30_000))
      .catch(async (e: unknown) => {
        const tasks = await client([grpc(leader)]).listTasks({ includeEnded: true });
        throw new Error(`${String(e)}; updates ${updates.join(',')}; leader's tasks ${JSON.stringify(tasks.map((t) => [t.id, TaskState[t.state], t.message]))}`);
      });
    expect(task.state).toBe(TaskState.TASK_STATE_FINISHED);
    const logs = client([grpc(standbys[1]!), grpc(leader)]);
    const chunks: string[] = [];
    await logs.taskLogs(task.id, {}, (d) => chunks.push(Buffer.from(d).toString()), AbortSignal.timeout(30_000));
    expect(chunks.join('')).toBe('through-a-standby\n');
    expect(logs.address).toBe(grpc(leader));
  });

  it('given only a standby that knows no leader, rejects with a clear NotLeaderError', async () => {
    const err = await client([grpc(orphan)]).listApps().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).rawMessage).toBe(`the master at ${grpc(orphan)} is a standby and knows no leader yet (an election may be under way, or the masters cannot reach a majority of their etcd members): retry shortly`);
  });
});

describe('the CLI given DROVER_MASTER=standby,leader', () => {
  it('runs commands at the leader', async () => {
    await client([grpc(leader)]).deployApp(AppSpec.fromPartial({ id: '/for-the-cli', cmd: 'sleep 60', cpus: 0.1, mem: 16, instances: 0 }));
    const env = { DROVER_MASTER: `${grpc(standbys[0]!)},${grpc(leader)}` };
    const result = await run(['app', 'list'], { env });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^\/for-the-cli\s/m);
    const deleted = await run(['app', 'delete', '/for-the-cli', '--force'], { env });
    expect(deleted).toMatchObject({ code: 0, stderr: '' });
    expect(await client([grpc(leader)]).listApps()).toEqual([]);
  });

  it('drover cluster status names the leader and every master with role and epoch', async () => {
    const result = await run(['cluster', 'status'], { env: { DROVER_MASTER: grpc(standbys[1]!) } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`Leader:       ${grpc(leader)} (HTTP 127.0.0.1:${leader.httpPort})`);
    expect(lines[1]).toBe(`Epoch:        ${leader.epoch}`);
    expect(lines[2]).toBe(`Answered by:  ${grpc(standbys[1]!)} (a standby)`);
    const table = lines.slice(4).filter((l) => l !== '').map((l) => l.split(/\s{3,}/));
    expect(table).toEqual([
      ['MASTER', 'HTTP', 'ROLE', 'EPOCH'],
      [grpc(leader), `127.0.0.1:${leader.httpPort}`, 'leader', String(leader.epoch)],
      [grpc(standbys[0]!), `127.0.0.1:${standbys[0]!.httpPort}`, 'standby', '-'],
      [grpc(standbys[1]!), `127.0.0.1:${standbys[1]!.httpPort}`, 'standby', '-'],
    ]);
  });
});
