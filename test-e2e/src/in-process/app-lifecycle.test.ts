/**
 * The whole path in one process over real gRPC on loopback: a real master, a
 * real agent launching real processes, and the real client.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DroverClient } from '@drover/client';
import { AppSpec, type Task, taskStateCodec } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessCluster, startInProcessCluster } from '../support/in-process-cluster.js';
import { alive, waitFor } from '../support/wait.js';

let cluster: InProcessCluster;
let client: DroverClient;
let root: string;

const running = (tasks: Task[]) => tasks.filter((t) => taskStateCodec.name(t.state) === 'RUNNING');

beforeAll(async () => {
  cluster = await startInProcessCluster('lifecycle', [{ hostname: 'in-process', cpus: 4, mem: 4096, ports: { begin: 32100, end: 32199 } }], 5000);
  client = cluster.client;
  root = cluster.root;
});

afterAll(async () => {
  await cluster?.stop();
});

describe('app lifecycle over real gRPC', () => {
  it('deploys 3 instances, replaces one killed from outside, scales down, deletes', async () => {
    const { created } = await client.deployApp(
      AppSpec.fromPartial({
        id: 'sleepy',
        cmd: 'echo started $DROVER_TASK_ID on $PORT0; exec sleep 600',
        cpus: 0.1,
        mem: 32,
        instances: 3,
        portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }],
      }),
    );
    expect(created).toBe(true);

    const three = await waitFor('3 RUNNING tasks', () => client.listTasks({ appId: 'sleepy' }), (ts) => running(ts).length === 3);
    const pids = three.map((t) => t.pid);
    expect(pids.every((p) => p > 0 && alive(p))).toBe(true);
    expect(new Set(three.map((t) => t.ports[0]?.number)).size).toBe(3);
    // Output goes to files in the task's sandbox, with the task's environment.
    const first = three[0] as Task;
    const stdout = await waitFor(
      'the task to write its stdout',
      () => fs.readFileSync(path.join(root, 'in-process', 'tasks', first.id, 'stdout'), 'utf8'),
      (text) => text.includes('started'),
    );
    expect(stdout.trim()).toBe(`started ${first.id} on ${first.ports[0]?.number}`);

    // kill -9 one task's process from outside Drover.
    const victim = three[0] as Task;
    process.kill(victim.pid, 'SIGKILL');
    const replaced = await waitFor(
      'a replacement RUNNING',
      () => client.listTasks({ appId: 'sleepy' }),
      (ts) => running(ts).length === 3 && !ts.some((t) => t.id === victim.id),
      15_000,
    );
    const ended = await client.getTask(victim.id);
    expect(taskStateCodec.name(ended.state)).toBe('FAILED');
    expect(ended.signal).toBe('SIGKILL');
    expect(replaced.map((t) => t.id)).not.toContain(victim.id);

    // The deployment ends once every task has run for the min running time (5 s), the replacement too.
    await waitFor('the deployment to succeed', () => client.getApp('sleepy'), (a) => a.status?.deployments.length === 0, 15_000, 200);

    // Scale to 1: two tasks are killed, and their processes are gone.
    await client.scaleApp('sleepy', 1);
    const one = await waitFor('1 task left', () => client.listTasks({ appId: 'sleepy' }), (ts) => ts.length === 1 && running(ts).length === 1);
    const killedPids = replaced.filter((t) => t.id !== one[0]?.id).map((t) => t.pid);
    await waitFor('killed processes to exit', () => killedPids.filter(alive), (left) => left.length === 0, 10_000);

    // Delete: nothing left, process gone.
    const lastPid = one[0]?.pid ?? 0;
    await client.deleteApp('sleepy');
    await waitFor('no tasks', () => client.listTasks({ appId: 'sleepy' }), (ts) => ts.length === 0);
    await waitFor('last process to exit', () => alive(lastPid), (a) => !a, 10_000);
    await expect(client.getApp('sleepy')).rejects.toMatchObject({ code: 5 });
  });
});
