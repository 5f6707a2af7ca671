import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, silentLogger } from '@drover/common';
import { type AgentMessage, FileOperation, FileRequest, type FileResponse } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogRotator } from '../sandbox/log-rotator.js';
import type { ReplyChannel } from '../session/master-session.js';
import { eventually } from '../testing/fake-master.js';
import { FILE_CHUNK_BYTES, SandboxFileServer, type TaskLiveness } from './sandbox-file-server.js';

const TASK = 'web.0001';

/** A stream as the file server sees it: records answers; `hold()` makes it stop taking more until `release()`. */
class RecordingChannel implements ReplyChannel {
  readonly responses: FileResponse[] = [];
  open = true;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private readonly listeners = new Set<() => void>();

  send(message: AgentMessage): boolean {
    if (!this.open) return false;
    if (message.message?.$case === 'fileResponse') this.responses.push(message.message.value);
    return true;
  }
  writable(): Promise<void> {
    return this.gate ?? Promise.resolve();
  }
  onClose(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  release(): void {
    this.gate = undefined;
    this.openGate?.();
  }
  close(): void {
    this.open = false;
    for (const l of this.listeners) l();
  }
  /** Responses of one request. */
  of(requestId: number): FileResponse[] {
    return this.responses.filter((r) => r.requestId === requestId);
  }
  /** The bytes answered to one request, in order. */
  text(requestId: number): string {
    return Buffer.concat(this.of(requestId).map((r) => r.data)).toString();
  }
  done(requestId: number): FileResponse | undefined {
    return this.of(requestId).find((r) => r.done);
  }
}

let base: string;
let tasksDir: string;
let sandbox: string;
let liveness: Map<string, TaskLiveness>;
let rotator: LogRotator;
let server: SandboxFileServer;
let channel: RecordingChannel;
let nextId = 1;

function request(fields: Partial<FileRequest>): number {
  const requestId = nextId++;
  server.handle({ $case: 'fileRequest', value: FileRequest.fromPartial({ requestId, taskId: TASK, ...fields }) }, channel);
  return requestId;
}

const list = (p: string) => request({ operation: FileOperation.FILE_OPERATION_LIST, path: p });
const read = (p: string, extra: Partial<FileRequest> = {}) => request({ operation: FileOperation.FILE_OPERATION_READ, path: p, ...extra });
const finished = (id: number) => eventually(() => channel.done(id), `request ${id} done`);

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-files-'));
  tasksDir = path.join(base, 'tasks');
  sandbox = path.join(tasksDir, TASK);
  fs.mkdirSync(path.join(sandbox, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(base, 'outside'));
  fs.writeFileSync(path.join(base, 'outside', 'secret'), 'host secret');
  fs.writeFileSync(path.join(sandbox, 'stdout'), 'hello\nworld\n');
  fs.writeFileSync(path.join(sandbox, 'stderr'), '');
  fs.writeFileSync(path.join(sandbox, 'logs', 'app.log'), 'app');
  fs.chmodSync(path.join(sandbox, 'logs', 'app.log'), 0o600);
  fs.symlinkSync('../../outside/secret', path.join(sandbox, 'escape'));
  fs.symlinkSync('stdout', path.join(sandbox, 'out-link'));
  liveness = new Map([[TASK, 'live']]);
  rotator = new LogRotator({ tasksDir, liveTasks: () => [TASK], maxBytes: 8, files: 3, intervalMs: 60_000, logger: silentLogger() });
  server = new SandboxFileServer({ tasksDir, liveness: (id) => liveness.get(id), rotations: rotator, followPollMs: 10, logger: silentLogger() });
  channel = new RecordingChannel();
});

afterEach(async () => {
  await server.close();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('SandboxFileServer LIST', () => {
  it('lists the sandbox sorted, with sizes, kinds, modes and times; symlinks are listed, not followed', async () => {
    const id = list('');
    const answer = await finished(id);
    expect(channel.of(id)).toHaveLength(1);
    expect(answer.entries.map((e) => [e.path, e.isDirectory])).toEqual([
      ['escape', false],
      ['logs', true],
      ['out-link', false],
      ['stderr', false],
      ['stdout', false],
    ]);
    const stdout = answer.entries.find((e) => e.path === 'stdout');
    expect(stdout).toMatchObject({ size: 12, mode: 0o644 & ~process.umask() });
    expect(stdout?.modifiedAt).toBeInstanceOf(Date);
    // The link's own size (its target's length), nothing about the file it points to.
    expect(answer.entries.find((e) => e.path === 'escape')?.size).toBe('../../outside/secret'.length);
  });

  it('lists a subdirectory with paths relative to the sandbox', async () => {
    const answer = await finished(list('logs'));
    expect(answer.entries).toEqual([expect.objectContaining({ path: 'logs/app.log', size: 3, mode: 0o600, isDirectory: false })]);
  });

  it('lists a file as that one entry, under the path asked for', async () => {
    const answer = await finished(list('./out-link'));
    expect(answer.entries).toEqual([expect.objectContaining({ path: 'out-link', size: 12, isDirectory: false })]);
  });
});

describe('SandboxFileServer READ', () => {
  it('reads a small file in one chunk marked done', async () => {
    const id = read('stdout');
    await finished(id);
    expect(channel.of(id).map((r) => [r.data.toString(), r.offset, r.done])).toEqual([['hello\nworld\n', 0, true]]);
  });

  it('reads a large file in chunks of at most 64 KiB, each with its offset', async () => {
    const big = Buffer.alloc(3 * FILE_CHUNK_BYTES + 100);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    fs.writeFileSync(path.join(sandbox, 'big.bin'), big);
    const id = read('big.bin');
    await finished(id);
    const parts = channel.of(id);
    expect(parts.map((r) => r.data.length)).toEqual([FILE_CHUNK_BYTES, FILE_CHUNK_BYTES, FILE_CHUNK_BYTES, 100]);
    expect(parts.map((r) => r.offset)).toEqual([0, FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES, 3 * FILE_CHUNK_BYTES]);
    expect(parts.map((r) => r.done)).toEqual([false, false, false, true]);
    expect(Buffer.concat(parts.map((r) => r.data)).equals(big)).toBe(true);
  });

  it.each([
    { name: 'a range', extra: { offset: 6, length: 3 }, want: 'wor', offset: 6 },
    { name: 'from an offset to the end', extra: { offset: 6 }, want: 'world\n', offset: 6 },
    { name: 'the tail', extra: { tailBytes: 6 }, want: 'world\n', offset: 6 },
    { name: 'a tail longer than the file', extra: { tailBytes: 100 }, want: 'hello\nworld\n', offset: 0 },
    { name: 'past the end (nothing)', extra: { offset: 100 }, want: '', offset: 12 },
  ])('reads $name', async ({ extra, want, offset }) => {
    const id = read('stdout', extra);
    await finished(id);
    expect(channel.text(id)).toBe(want);
    expect(channel.of(id)[0]?.offset).toBe(offset);
  });

  it('answers an empty file with one empty response marked done', async () => {
    const id = read('stderr');
    await finished(id);
    expect(channel.of(id)).toEqual([expect.objectContaining({ data: Buffer.alloc(0), done: true, error: '' })]);
  });

  it.each([
    { name: '..', op: 'read', path: '../other/stdout', code: Code.InvalidArgument },
    { name: 'an absolute path', op: 'read', path: '/etc/passwd', code: Code.InvalidArgument },
    { name: 'a symlink out', op: 'read', path: 'escape', code: Code.PermissionDenied },
    { name: 'a symlink out, followed', op: 'follow', path: 'escape', code: Code.PermissionDenied },
    { name: 'a symlink out, listed through', op: 'list', path: 'escape', code: Code.PermissionDenied },
    { name: 'a missing file', op: 'read', path: 'nope', code: Code.NotFound },
    { name: 'a directory', op: 'read', path: 'logs', code: Code.InvalidArgument },
    { name: 'a missing directory', op: 'list', path: 'nope', code: Code.NotFound },
  ])('refuses $name ($op) with its code', async ({ op, path: p, code }) => {
    const id = op === 'list' ? list(p) : read(p, { follow: op === 'follow' });
    const answer = await finished(id);
    expect(channel.of(id)).toHaveLength(1);
    expect(answer.errorCode).toBe(code);
    expect(answer.error).not.toBe('');
    expect(answer.error).not.toContain(base);
    expect(answer.data.length).toBe(0);
  });

  it.each([
    { name: 'a task without a sandbox', taskId: 'gone.0002', code: Code.NotFound },
    { name: 'a task id that cannot name a sandbox', taskId: '../x', code: Code.InvalidArgument },
  ])('refuses $name', async ({ taskId, code }) => {
    const id = request({ operation: FileOperation.FILE_OPERATION_READ, taskId, path: 'stdout' });
    expect((await finished(id)).errorCode).toBe(code);
  });

  it('serves a forgotten task whose sandbox is still on disk', async () => {
    liveness.delete(TASK);
    const id = read('stdout');
    await finished(id);
    expect(channel.text(id)).toBe('hello\nworld\n');
  });
});

describe('SandboxFileServer follow', () => {
  const append = (text: string, file = 'stdout') => fs.appendFileSync(path.join(sandbox, file), text);

  it('sends what is appended until the task ends, then everything left and done', async () => {
    const id = read('stdout', { follow: true });
    await eventually(() => channel.text(id) === 'hello\nworld\n', 'the file so far');
    append('more\n');
    await eventually(() => channel.text(id).endsWith('more\n'), 'the appended line');
    append('last words\n');
    liveness.set(TASK, 'ended');
    await finished(id);
    expect(channel.text(id)).toBe('hello\nworld\nmore\nlast words\n');
    expect(server.inFlight).toBe(0);
  });

  it('starts at the tail', async () => {
    const id = read('stdout', { follow: true, tailBytes: 6 });
    await eventually(() => channel.text(id) === 'world\n', 'the tail');
    liveness.set(TASK, 'ended');
    await finished(id);
  });

  it('stops on cancel, without a done', async () => {
    const id = read('stdout', { follow: true });
    await eventually(() => channel.text(id) !== '', 'the first bytes');
    server.handle({ $case: 'fileCancel', value: { requestId: id } }, channel);
    await eventually(() => server.inFlight === 0, 'the follow to stop');
    append('after cancel\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(channel.text(id)).toBe('hello\nworld\n');
    expect(channel.done(id)).toBeUndefined();
  });

  it('stops on cancel even while the stream is stalled, and close() does not hang on it', async () => {
    channel.hold();
    const id = read('stdout', { follow: true });
    read('stderr', { follow: true });
    await eventually(() => server.inFlight === 2, 'two follows');
    await new Promise((r) => setTimeout(r, 30));
    server.handle({ $case: 'fileCancel', value: { requestId: id } }, channel);
    await eventually(() => server.inFlight === 1, 'the cancelled follow to stop');
    await server.close();
    expect(server.inFlight).toBe(0);
    expect(channel.responses).toEqual([]);
  });

  it('stops when the stream ends', async () => {
    read('stdout', { follow: true });
    read('stderr', { follow: true });
    await eventually(() => server.inFlight === 2, 'two follows');
    channel.close();
    await eventually(() => server.inFlight === 0, 'the follows to stop');
  });

  it('waits for a live task file that does not exist yet', async () => {
    const id = read('later.log', { follow: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(channel.of(id)).toEqual([]);
    append('appeared\n', 'later.log');
    await eventually(() => channel.text(id) === 'appeared\n', 'the new file');
    liveness.set(TASK, 'ended');
    await finished(id);
  });

  it('follows across a rotation: the unsent rest comes from .1, then the new file from 0', async () => {
    fs.writeFileSync(path.join(sandbox, 'stdout'), '');
    const fd = fs.openSync(path.join(sandbox, 'stdout'), 'a');
    try {
      const id = read('stdout', { follow: true });
      fs.writeSync(fd, 'aaa\n');
      await eventually(() => channel.text(id) === 'aaa\n', 'aaa');
      // The master is slow: the follower holds "bbb" while two rotations pass.
      channel.hold();
      fs.writeSync(fd, 'bbb\n');
      await new Promise((r) => setTimeout(r, 50));
      fs.writeSync(fd, 'ccc\n');
      await rotator.checkNow(); // .1 = aaa bbb ccc
      fs.writeSync(fd, 'ddd and more\n');
      await rotator.checkNow(); // .2 = aaa bbb ccc, .1 = ddd and more
      fs.writeSync(fd, 'eee\n');
      channel.release();
      await eventually(() => channel.text(id).endsWith('eee\n'), 'eee');
      liveness.set(TASK, 'ended');
      await finished(id);
      expect(channel.text(id)).toBe('aaa\nbbb\nccc\nddd and more\neee\n');
      expect(fs.readFileSync(path.join(sandbox, 'stdout.2'), 'utf8')).toBe('aaa\nbbb\nccc\n');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('follows a log through a symlink to it, across a rotation', async () => {
    fs.writeFileSync(path.join(sandbox, 'stdout'), 'one\n');
    const id = read('out-link', { follow: true });
    await eventually(() => channel.text(id) === 'one\n', 'one');
    append('two two two\n');
    await eventually(() => channel.text(id).endsWith('two two two\n'), 'two');
    await rotator.checkNow();
    append('three\n');
    await eventually(() => channel.text(id).endsWith('three\n'), 'three');
    expect(channel.text(id)).toBe('one\ntwo two two\nthree\n');
  });

  it('starts over when something else truncates the file', async () => {
    const id = read('stdout', { follow: true });
    await eventually(() => channel.text(id) === 'hello\nworld\n', 'the file');
    fs.writeFileSync(path.join(sandbox, 'stdout'), 'new\n');
    await eventually(() => channel.text(id).endsWith('new\n'), 'the new content');
    expect(channel.text(id)).toBe('hello\nworld\nnew\n');
  });

  it('stops after `length` bytes', async () => {
    const id = read('stdout', { follow: true, offset: 2, length: 5 });
    await finished(id);
    expect(channel.text(id)).toBe('llo\nw');
  });
});
