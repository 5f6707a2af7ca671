/**
 * Tasks.Logs, Tasks.ListFiles and Tasks.ReadFile through the real master
 * over gRPC, with a scripted agent answering the relayed FileRequests on its
 * Connect stream.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, type DroverError, fromGrpcError, silentLogger } from '@drover/common';
import {
  AppsClient,
  AppSpec,
  ConstraintOperator,
  FileOperation,
  FileResponse,
  type ListTaskFilesResponse,
  type ReadTaskFileResponse,
  RunTaskRequest,
  TasksClient,
  type TaskLogsResponse,
} from '@drover/proto';
import { type ClientReadableStream, credentials, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningMaster } from '../master-options.js';
import { startMaster } from '../master.js';
import { FakeAgent, type Received, run } from '../testing/fake-agent.js';
import { lastLines } from './task-files.js';

let dataDir: string;
let master: RunningMaster;
let tasks: TasksClient;
let apps: AppsClient;
const agents: FakeAgent[] = [];

/** A server stream as a list of messages and a promise of how it ended (undefined: OK). */
function collect<T>(call: ClientReadableStream<T>): { messages: T[]; ended: Promise<DroverError | undefined> } {
  const messages: T[] = [];
  const ended = new Promise<DroverError | undefined>((resolve) => {
    call.on('data', (m: T) => messages.push(m));
    call.on('error', (e: ServiceError) => resolve(fromGrpcError(e)));
    call.on('end', () => resolve(undefined));
  });
  return { messages, ended };
}

const bytes = (messages: Array<TaskLogsResponse | ReadTaskFileResponse>) => Buffer.concat(messages.map((m) => m.data)).toString();

async function until(ok: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An agent with one RUNNING task of app /web; returns both. */
async function agentWithTask(hostname = 'node-1.test'): Promise<{ agent: FakeAgent; taskId: string }> {
  const agent = new FakeAgent(`127.0.0.1:${master.grpcPort}`, FakeAgent.registration({ hostname }));
  agents.push(agent);
  await agent.connect();
  await new Promise<void>((resolve, reject) =>
    apps.deploy(
      {
        app: AppSpec.fromPartial({
          id: `web-${agents.length}`,
          cmd: 'sleep 60',
          cpus: 0.1,
          mem: 16,
          instances: 1,
          constraints: [{ field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_CLUSTER, value: hostname }],
        }),
        force: true,
      },
      (e) => (e ? reject(e) : resolve()),
    ),
  );
  const launch = await agent.next('launch');
  const taskId = launch.task?.taskId ?? '';
  await run(agent, taskId);
  return { agent, taskId };
}

/** Answers one FileRequest. */
function answer(agent: FakeAgent, request: Received<'fileRequest'>, fields: Partial<FileResponse>): void {
  agent.send({ $case: 'fileResponse', value: FileResponse.fromPartial({ requestId: request.requestId, ...fields }) });
}

beforeEach(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-relay-'));
  master = await startMaster({ dataDir, grpcHost: '127.0.0.1', grpcPort: 0, httpPort: 0, logger: silentLogger() });
  tasks = new TasksClient(`127.0.0.1:${master.grpcPort}`, credentials.createInsecure());
  apps = new AppsClient(`127.0.0.1:${master.grpcPort}`, credentials.createInsecure());
});

afterEach(async () => {
  tasks.close();
  apps.close();
  for (const a of agents.splice(0)) a.close();
  await master.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('Tasks.Logs', () => {
  it('asks the agent for the tail and cuts it to the last lines', async () => {
    const { agent, taskId } = await agentWithTask();
    const logs = collect(tasks.logs({ taskId, stderr: true, follow: false, tailLines: 2 }));
    const ask = await agent.next('fileRequest');
    expect(ask).toMatchObject({ taskId, operation: FileOperation.FILE_OPERATION_READ, path: 'stderr', follow: false });
    expect(ask.tailBytes).toBeGreaterThanOrEqual(4096);
    answer(agent, ask, { data: Buffer.from('one\ntwo\nthree\n'), offset: 0, done: true });
    expect(await logs.ended).toBeUndefined();
    expect(bytes(logs.messages)).toBe('two\nthree\n');
  });

  it('asks for more when the tail had too few lines, and gives the whole file when it is short', async () => {
    const { agent, taskId } = await agentWithTask();
    const logs = collect(tasks.logs({ taskId, stderr: false, follow: false, tailLines: 3 }));
    const first = await agent.next('fileRequest');
    // Two lines, and the file goes on before them: not enough.
    answer(agent, first, { data: Buffer.from('ne a\nline b\nline c\n'), offset: 10, done: true });
    const second = await agent.next('fileRequest');
    expect(second.tailBytes).toBe(first.tailBytes * 2);
    answer(agent, second, { data: Buffer.from('line 0\nline a\nline b\nline c\n'), offset: 0, done: true });
    expect(await logs.ended).toBeUndefined();
    expect(bytes(logs.messages)).toBe('line a\nline b\nline c\n');
  });

  it('follows: the tail, then what the agent sends as the task writes, until the agent says done', async () => {
    const { agent, taskId } = await agentWithTask();
    const logs = collect(tasks.logs({ taskId, stderr: false, follow: true, tailLines: 1 }));
    const tail = await agent.next('fileRequest');
    answer(agent, tail, { data: Buffer.from('old\nnew\n'), offset: 100, done: true });
    const follow = await agent.next('fileRequest');
    expect(follow).toMatchObject({ path: 'stdout', follow: true, offset: 108, tailBytes: 0 });
    await until(() => bytes(logs.messages) === 'new\n', 'the tail');
    answer(agent, follow, { data: Buffer.from('more\n'), offset: 108 });
    await until(() => bytes(logs.messages) === 'new\nmore\n', 'the followed line');
    answer(agent, follow, { data: Buffer.from('last\n'), offset: 113 });
    answer(agent, follow, { done: true });
    expect(await logs.ended).toBeUndefined();
    expect(bytes(logs.messages)).toBe('new\nmore\nlast\n');
  });

  it('cancels the agent-side follow when the client goes away', async () => {
    const { agent, taskId } = await agentWithTask();
    const call = tasks.logs({ taskId, stderr: false, follow: true });
    const logs = collect(call);
    const whole = await agent.next('fileRequest');
    answer(agent, whole, { data: Buffer.from('hi\n'), offset: 0, done: true });
    const follow = await agent.next('fileRequest');
    expect(follow).toMatchObject({ follow: true, offset: 3 });
    await until(() => logs.messages.length === 1, 'the first bytes');
    call.cancel();
    const cancel = await agent.next('fileCancel');
    expect(cancel.requestId).toBe(follow.requestId);
    expect((await logs.ended)?.code).toBe(Code.Canceled);
  });

  it('fails with UNAVAILABLE when the agent goes away during a follow', async () => {
    const { agent, taskId } = await agentWithTask('gone.test');
    const logs = collect(tasks.logs({ taskId, stderr: false, follow: true }));
    answer(agent, await agent.next('fileRequest'), { done: true });
    await agent.next('fileRequest');
    agent.disconnect();
    const error = await logs.ended;
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toBe('agent gone.test disconnected');
  });

  it.each([
    { name: 'an unknown task is NOT_FOUND', taskId: 'nope.1', code: Code.NotFound, message: 'task nope.1 not found' },
  ])('$name', async ({ taskId, code, message }) => {
    const logs = collect(tasks.logs({ taskId, stderr: false, follow: false }));
    const error = await logs.ended;
    expect(error?.code).toBe(code);
    expect(error?.rawMessage).toBe(message);
  });

  it('is FAILED_PRECONDITION for a task not placed on an agent yet', async () => {
    const pending = await new Promise<string>((resolve, reject) => {
      const call = tasks.run(RunTaskRequest.fromPartial({ cmd: 'true', name: 'later' }));
      call.on('data', (r: { task?: { id: string } }) => resolve(r.task?.id ?? ''));
      call.on('error', reject);
    });
    const error = await collect(tasks.logs({ taskId: pending, stderr: false, follow: false })).ended;
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(error?.rawMessage).toBe(`task ${pending} has not been placed on an agent yet`);
  });

  it('is UNAVAILABLE, naming the host, when the agent is not connected', async () => {
    const { agent, taskId } = await agentWithTask('away.test');
    agent.disconnect();
    let error: DroverError | undefined;
    const deadline = Date.now() + 5000;
    // The master notices the dropped stream a moment later.
    while (Date.now() < deadline) {
      error = await collect(tasks.logs({ taskId, stderr: false, follow: false })).ended;
      if (error?.code === Code.Unavailable) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toBe('agent away.test is not connected');
  });
});

describe('Tasks.ListFiles and Tasks.ReadFile', () => {
  it('lists a directory through the agent', async () => {
    const { agent, taskId } = await agentWithTask();
    const listing = new Promise<ListTaskFilesResponse>((resolve, reject) =>
      tasks.listFiles({ taskId, path: 'logs' }, (e, r) => (e ? reject(fromGrpcError(e)) : resolve(r))),
    );
    const ask = await agent.next('fileRequest');
    expect(ask).toMatchObject({ taskId, operation: FileOperation.FILE_OPERATION_LIST, path: 'logs' });
    const entry = { path: 'logs/app.log', size: 3, isDirectory: false, modifiedAt: new Date('2025-06-01T12:00:00Z'), mode: 0o644 };
    answer(agent, ask, { entries: [entry], done: true });
    expect((await listing).entries).toEqual([entry]);
  });

  it('reads a file with its offsets, and passes the agent error code on', async () => {
    const { agent, taskId } = await agentWithTask();
    const read = collect(tasks.readFile({ taskId, path: 'data.bin', offset: 5, length: 6 }));
    const ask = await agent.next('fileRequest');
    expect(ask).toMatchObject({ operation: FileOperation.FILE_OPERATION_READ, path: 'data.bin', offset: 5, length: 6, follow: false });
    answer(agent, ask, { data: Buffer.from('abc'), offset: 5 });
    answer(agent, ask, { data: Buffer.from('def'), offset: 8, done: true });
    expect(await read.ended).toBeUndefined();
    expect(read.messages.map((m) => [m.data.toString(), m.offset])).toEqual([['abc', 5], ['def', 8]]);

    const refused = collect(tasks.readFile({ taskId, path: '../../etc/passwd', offset: 0, length: 0 }));
    answer(agent, await agent.next('fileRequest'), { done: true, error: '"../../etc/passwd" contains ".."', errorCode: Code.InvalidArgument });
    const error = await refused.ended;
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toBe('"../../etc/passwd" contains ".."');
  });

  it('ignores answers from another agent to the same request id', async () => {
    const { agent, taskId } = await agentWithTask('node-1.test');
    const { agent: other } = await agentWithTask('node-2.test');
    const read = collect(tasks.readFile({ taskId, path: 'stdout', offset: 0, length: 0 }));
    const ask = await agent.next('fileRequest');
    answer(other, ask, { data: Buffer.from('forged'), offset: 0, done: true });
    answer(agent, ask, { data: Buffer.from('real'), offset: 0, done: true });
    expect(await read.ended).toBeUndefined();
    expect(bytes(read.messages)).toBe('real');
  });
});

describe('lastLines', () => {
  it.each([
    { name: 'the last two of three', text: 'a\nb\nc\n', lines: 2, want: 'b\nc\n' },
    { name: 'a last line without newline', text: 'a\nb\nc', lines: 2, want: 'b\nc' },
    { name: 'more lines asked than there are', text: 'a\nb\n', lines: 5, want: 'a\nb\n' },
    { name: 'exactly as many lines', text: 'a\nb\n', lines: 2, want: 'a\nb\n' },
    { name: 'empty', text: '', lines: 2, want: '' },
  ])('$name', ({ text, lines, want }) => {
    const data = Buffer.from(text);
    expect(data.subarray(lastLines(data, lines)).toString()).toBe(want);
  });
});
