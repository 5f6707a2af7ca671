/**
 * What an agent that loses touch with the master does and is done to, with
 * a real master, real agents and real processes in the test's process:
 *
 *   - an agent that comes back with another boot id (its machine restarted,
 *     played by changing the boot id file the agent reads): the task the
 *     master knew there is LOST (AGENT_REBOOTED), the process the agent
 *     still reports is killed, and the app gets a new task;
 *   - stopAfterDisconnectSeconds: with the master gone, the agent itself
 *     kills the tasks of the app that asked for it (and only those); the
 *     master, back, records them KILLED with reason MASTERS_UNREACHABLE.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type RunningAgent, startAgent } from '@drover/agent';
import { DroverClient } from '@drover/client';
import { silentLogger } from '@drover/common';
import { type RunningMaster, startMaster } from '@drover/master';
import { AppSpec, ConstraintOperator, type Task, taskReasonCodec, taskStateCodec } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';
import { alive, waitFor } from '../support/wait.js';

let root: string;
let grpcPort: number;
let master: RunningMaster | undefined;
let client: DroverClient | undefined;
const agents = new Set<RunningAgent>();
const pids = new Set<number>();

async function startTheMaster(): Promise<RunningMaster> {
  master = await startMaster({ dataDir: path.join(root, 'master'), grpcHost: '127.0.0.1', grpcPort, httpPort: 0, logger: silentLogger() });
  return master;
}

async function startTheAgent(bootIdFile: string): Promise<RunningAgent> {
  const agent = await startAgent({
    master: `127.0.0.1:${grpcPort}`,
    workDir: path.join(root, 'alpha'),
    hostname: 'alpha',
    resources: { cpus: 2, mem: 2048, disk: 1024, ports: [{ begin: 34100, end: 34199 }] },
    logger: silentLogger(),
    reconnectDelayMs: 100,
    maxReconnectDelayMs: 500,
    bootIdFile,
  });
  agents.add(agent);
  await agent.registered();
  return agent;
}

const stateOf = (t: Task | undefined) => (t ? taskStateCodec.name(t.state) : undefined);
const tasksOf = async (appId: string, includeEnded = false) => (await client?.listTasks({ appId, includeEnded })) ?? [];

async function runningTask(appId: string, not?: string): Promise<Task> {
  const [task] = await waitFor(
    `a RUNNING task of ${appId}`,
    async () => (await tasksOf(appId)).filter((t) => stateOf(t) === 'RUNNING' && t.id !== not && t.pid !== 0),
    (ts) => ts.length === 1,
    20_000,
  );
  pids.add(task?.pid ?? 0);
  return task as Task;
}

beforeEach(async () => {
  root = tempDir('e2e-cut-off');
  grpcPort = await freePort();
  await startTheMaster();
  client = new DroverClient(`127.0.0.1:${grpcPort}`);
});

afterEach(async () => {
  client?.close();
  for (const agent of agents) await agent.stop({ killTasks: true });
  agents.clear();
  await master?.stop();
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
  pids.clear();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('agents cut off from the master', () => {
  it('an agent back with another boot id: its old task is LOST (AGENT_REBOOTED), its process killed, and replaced', async () => {
    const bootIdFile = path.join(root, 'boot_id');
    fs.writeFileSync(bootIdFile, 'aaaaaaaa-0000-4000-8000-000000000001\n');
    let agent = await startTheAgent(bootIdFile);
    await client?.deployApp(
      AppSpec.fromPartial({
        id: '/pinned',
        cmd: 'exec sleep 600',
        cpus: 0.1,
        mem: 16,
        instances: 1,
        constraints: [{ field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_IS, value: 'alpha' }],
      }),
    );
    const before = await runningTask('/pinned');

    // The agent stops (its task keeps running) and comes back from "another boot".
    await agent.stop();
    agents.delete(agent);
    fs.writeFileSync(bootIdFile, 'bbbbbbbb-0000-4000-8000-000000000002\n');
    agent = await startTheAgent(bootIdFile);

    const after = await runningTask('/pinned', before.id);
    expect(after.id).not.toBe(before.id);
    const old = (await tasksOf('/pinned', true)).find((t) => t.id === before.id);
    expect(stateOf(old)).toBe('LOST');
    expect(taskReasonCodec.name(old?.reason ?? 0)).toBe('AGENT_REBOOTED');
    await waitFor('the old process to be killed', () => alive(before.pid), (a) => !a, 15_000);
  });

  it('stopAfterDisconnectSeconds: the cut-off agent kills that app’s task and no other; the master records why', async () => {
    const bootIdFile = path.join(root, 'boot_id');
    fs.writeFileSync(bootIdFile, 'cccccccc-0000-4000-8000-000000000003\n');
    await startTheAgent(bootIdFile);
    const base = { cmd: 'exec sleep 600', cpus: 0.1, mem: 16, instances: 1 };
    await client?.deployApp(AppSpec.fromPartial({ id: '/singleton', ...base, stopAfterDisconnectSeconds: 1 }));
    await client?.deployApp(AppSpec.fromPartial({ id: '/ordinary', ...base }));
    const singleton = await runningTask('/singleton');
    const ordinary = await runningTask('/ordinary');

    await master?.stop();
    master = undefined;
    const stoppedAt = Date.now();
    await waitFor('the singleton to be stopped by its agent', () => alive(singleton.pid), (a) => !a, 15_000);
    const tookMs = Date.now() - stoppedAt;
    expect(tookMs).toBeGreaterThanOrEqual(900);
    expect(alive(ordinary.pid)).toBe(true);

    await startTheMaster();
    const killed = await waitFor(
      'the master to hear how the singleton ended',
      async () => (await tasksOf('/singleton', true)).find((t) => t.id === singleton.id),
      (t) => stateOf(t) === 'KILLED',
      20_000,
    );
    expect(taskReasonCodec.name(killed?.reason ?? 0)).toBe('MASTERS_UNREACHABLE');
    const ordinaryNow = (await tasksOf('/ordinary')).find((t) => t.id === ordinary.id);
    expect(stateOf(ordinaryNow)).toBe('RUNNING');
    expect(alive(ordinary.pid)).toBe(true);
    // The app is whole again: a new singleton runs.
    await runningTask('/singleton', singleton.id);
  });
});
