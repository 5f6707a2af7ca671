/**
 * Logs and sandbox files end to end in one process: the real client asks a
 * real master, which relays over the agent's Connect stream to a real agent
 * reading the sandbox of a real task (with log rotation on).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DroverClient } from '@drover/client';
import { Code, DroverError } from '@drover/common';
import { type Task, taskStateCodec } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessCluster, startInProcessCluster } from '../support/in-process-cluster.js';
import { waitFor } from '../support/wait.js';

let cluster: InProcessCluster;
let client: DroverClient;

beforeAll(async () => {
  cluster = await startInProcessCluster('files', [
    {
      hostname: 'files-node',
      ports: { begin: 32700, end: 32709 },
      options: { logMaxBytes: 2000, logFiles: 3, logCheckIntervalMs: 50, followPollMs: 20 },
    },
  ]);
  client = cluster.client;
});

afterAll(async () => {
  await cluster?.stop();
});

/** Runs a one-off task and waits until it is RUNNING. */
async function runTask(cmd: string): Promise<Task> {
  const task = await client.runTask({ cmd, name: 'files' });
  return waitFor('the task to run', () => client.getTask(task.id), (t) => ['RUNNING', 'FINISHED'].includes(taskStateCodec.name(t.state) ?? ''));
}

async function failure(p: Promise<unknown>): Promise<DroverError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(DroverError);
  return e as DroverError;
}

const LINES = 600;

describe('task logs and files over the relay', () => {
  it('follows a chatty task from its tail, across rotations, until it ends; tails and reads it afterwards', async () => {
    const task = await runTask(
      `echo ready; sleep 0.3; i=0; while [ $i -lt ${LINES} ]; do echo "line $i"; i=$((i+1)); [ $((i % 20)) -eq 0 ] && sleep 0.03; done; ln -s /etc/passwd leak; true`,
    );
    const chunks: string[] = [];
    await client.taskLogs(task.id, { follow: true, tailLines: 1 }, (d) => chunks.push(Buffer.from(d).toString()));
    // From the tail line on (normally "ready"; a slow start may begin later), every line once, in order.
    const lines = chunks.join('').trimEnd().split('\n').filter((l) => l !== 'ready');
    const first = Number(lines[0]?.slice(5));
    expect(first).toBeLessThan(LINES / 2);
    expect(lines).toEqual(Array.from({ length: LINES - first }, (_, i) => `line ${first + i}`));
    await waitFor('FINISHED', () => client.getTask(task.id), (t) => taskStateCodec.name(t.state) === 'FINISHED');

    const tail: string[] = [];
    await client.taskLogs(task.id, { tailLines: 2 }, (d) => tail.push(Buffer.from(d).toString()));
    expect(tail.join('')).toBe(`line ${LINES - 2}\nline ${LINES - 1}\n`);

    const entries = await client.listTaskFiles(task.id);
    expect(entries.map((e) => e.path)).toEqual(expect.arrayContaining(['leak', 'stderr', 'stdout', 'stdout.1', 'stdout.2']));
    const rotated: string[] = [];
    await client.readTaskFile(task.id, 'stdout.1', {}, (d) => rotated.push(Buffer.from(d).toString()));
    expect(rotated.join('')).toMatch(/^line \d+\n/);

    // Traversal is refused end to end, with the agent's code.
    expect((await failure(client.readTaskFile(task.id, '../../agent-id.json', {}, () => undefined))).code).toBe(Code.InvalidArgument);
    expect((await failure(client.listTaskFiles(task.id, '/etc'))).code).toBe(Code.InvalidArgument);
    expect((await failure(client.readTaskFile(task.id, 'leak', {}, () => undefined))).code).toBe(Code.PermissionDenied);
    expect((await failure(client.listTaskFiles(task.id, 'nope'))).code).toBe(Code.NotFound);
  });

  it('sees more output arrive while following, and stops at once when the client cancels', async () => {
    const task = await runTask('i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.05; done');
    const stop = new AbortController();
    const seen: string[] = [];
    const following = client.taskLogs(task.id, { follow: true }, (d) => seen.push(Buffer.from(d).toString()), stop.signal);
    await waitFor('three ticks', () => seen.join(''), (s) => s.includes('tick 3\n'));
    stop.abort();
    await following;
    const count = seen.length;
    await sleep(200);
    expect(seen.length).toBe(count);
    await client.killTask(task.id);
    await waitFor('KILLED', () => client.getTask(task.id), (t) => taskStateCodec.name(t.state) === 'KILLED');
  });

  it('answers NOT_FOUND for an unknown task and UNAVAILABLE once the agent is gone', async () => {
    expect((await failure(client.taskLogs('nope.1', {}, () => undefined))).code).toBe(Code.NotFound);
    const task = await runTask('echo bye');
    await waitFor('FINISHED', () => client.getTask(task.id), (t) => taskStateCodec.name(t.state) === 'FINISHED');
    await cluster.agents[0]?.stop();
    const error = await waitFor(
      'the master to see the agent go',
      () => failure(client.taskLogs(task.id, {}, () => undefined)),
      (e) => e.code === Code.Unavailable,
    );
    expect(error.rawMessage).toBe('agent files-node is not connected');
  });
});
