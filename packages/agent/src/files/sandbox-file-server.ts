/**
 * Answers the master's FileRequests about task sandboxes: LIST a directory,
 * READ a file (a range, its tail, or following what is appended), over the
 * agent's own Connect stream. Masters cannot dial agents, so this is the
 * only way logs and files reach clients.
 *
 * Protocol (agent side). Every FileResponse carries the request's id; the
 * last one has `done`; a failure is one response with `done`, `error` and
 * `error_code` (a gRPC code). READ data comes in chunks of at most 64 KiB,
 * each with the offset it starts at in the file it came from. LIST of a
 * directory answers its entries, sorted, with paths relative to the sandbox
 * and spelled from the requested path; LIST of a file answers that one entry
 * (as `ls` does), so a client can tell a file from a directory in one call.
 * Bulk answers wait for the stream to drain between chunks (a slow master
 * slows the reader instead of filling the agent's memory).
 *
 * READ with `follow` keeps sending what is appended, polling every
 * `followPollMs`. It survives log rotation (see sandbox/log-rotator.ts): each
 * poll runs under the rotator's lock for that log, learns of rotations it
 * missed, finishes the part of the old file it had not sent yet from the
 * rotated copy (`.1`, or further back if several rotations passed while the
 * master was slow; gone when more rotations passed than copies are kept),
 * then continues at offset 0 of the new live file. A file replaced or
 * truncated by anything else restarts at 0. A follow starting at an offset
 * past the end (the file was rotated since the offset was learnt) starts at
 * 0. A follow ends with `done` when the FileRequestCancel arrives, the
 * stream ends, `length` bytes were sent, or the task is no longer running
 * and everything it wrote has been sent (liveness is sampled before the
 * last read, so nothing written before the end is cut off). While a live
 * task's file does not exist yet, a follow waits for it.
 *
 * Paths are resolved with the rules of files/sandbox-paths.ts. Requests
 * work for tasks the agent tracks and for forgotten ones whose sandbox is
 * still on disk.
 */
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { Code, DroverError, type Logger } from '@drover/common';
import { type FileEntry, FileOperation, type FileRequest, FileResponse } from '@drover/proto';
import { logKey, type RotationJournal } from '../sandbox/log-rotator.js';
import type { FileMessage, ReplyChannel } from '../session/master-session.js';
import {
  isMissing,
  normalizeRequested,
  openInSandbox,
  resolveInSandbox,
  sandboxRoot,
  type SandboxRoot,
} from './sandbox-paths.js';

/** Largest data chunk of one FileResponse. */
export const FILE_CHUNK_BYTES = 64 * 1024;
/** Default time between two looks at a followed file. */
export const DEFAULT_FOLLOW_POLL_MS = 250;
/** Bytes read under a log's lock in one go (the lock holds rotation off). */
const PULL_BYTES = 16 * FILE_CHUNK_BYTES;

/** Whether the agent runs a task: 'live' until it ended, 'ended' while tracked after that, undefined when not tracked. */
export type TaskLiveness = 'live' | 'ended' | undefined;

/** What a SandboxFileServer works with. */
export interface SandboxFileServerOptions {
  /** Parent of the sandboxes. */
  tasksDir: string;
  /** Whether a task runs (a follow ends once it does not). */
  liveness: (taskId: string) => TaskLiveness;
  /** Rotations of the logs, to follow across them. */
  rotations: RotationJournal;
  /** Time between two looks at a followed file; default 250 ms. */
  followPollMs?: number;
  /** Logger (a child named "file-server" is taken). */
  logger: Logger;
}

interface Active {
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

/** The requests answered on one stream, and the removal of the listener for its end. */
interface StreamRequests {
  readonly requests: Map<number, Active>;
  readonly forget: () => void;
}

/** Serves FileRequests for task sandboxes (see the top of the file). */
export class SandboxFileServer {
  private readonly log: Logger;
  private readonly pollMs: number;
  /** In-flight requests, per stream (request ids are only unique on one stream). */
  private readonly active = new Map<ReplyChannel, StreamRequests>();
  private closed = false;

  constructor(private readonly options: SandboxFileServerOptions) {
    this.log = options.logger.child({ component: 'file-server' });
    this.pollMs = options.followPollMs ?? DEFAULT_FOLLOW_POLL_MS;
  }

  /** Requests being answered right now (all streams). */
  get inFlight(): number {
    let n = 0;
    for (const s of this.active.values()) n += s.requests.size;
    return n;
  }

  /** Starts answering a request, or stops one on cancel. Returns at once. */
  handle(message: FileMessage, reply: ReplyChannel): void {
    if (message.$case === 'fileCancel') {
      this.active.get(reply)?.requests.get(message.value.requestId)?.stop.abort();
      return;
    }
    const request = message.value;
    if (this.closed || !reply.open) return;
    let stream = this.active.get(reply);
    if (stream === undefined) {
      const requests = new Map<number, Active>();
      // The stream ended: stop everything that answers on it.
      const forget = reply.onClose(() => {
        for (const a of requests.values()) a.stop.abort();
      });
      stream = { requests, forget };
      this.active.set(reply, stream);
    }
    const { requests } = stream;
    // A repeated id replaces the older request.
    requests.get(request.requestId)?.stop.abort();
    const stop = new AbortController();
    const done = this.serve(request, reply, stop.signal).finally(() => {
      const current = this.active.get(reply);
      if (current?.requests.get(request.requestId)?.stop !== stop) return;
      current.requests.delete(request.requestId);
      if (current.requests.size > 0) return;
      current.forget();
      this.active.delete(reply);
    });
    requests.set(request.requestId, { stop, done });
  }

  /** Stops every request and waits for them to wind down. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.active.values()].flatMap((s) => [...s.requests.values()]);
    for (const a of all) a.stop.abort();
    await Promise.all(all.map((a) => a.done));
  }

  private async serve(request: FileRequest, reply: ReplyChannel, signal: AbortSignal): Promise<void> {
    const { requestId, taskId } = request;
    try {
      switch (request.operation) {
        case FileOperation.FILE_OPERATION_LIST:
          await this.list(request, reply);
          return;
        case FileOperation.FILE_OPERATION_READ:
          if (request.follow) await this.follow(request, reply, signal);
          else await this.read(request, reply, signal);
          return;
        default:
          throw new DroverError(`unknown file operation ${request.operation}`, Code.InvalidArgument);
      }
    } catch (e) {
      const error = fileError(e, request.path);
      if (error.code === Code.Internal) this.log.warn({ taskId, path: request.path, err: e }, 'file request failed');
      reply.send({
        message: {
          $case: 'fileResponse',
          value: FileResponse.fromPartial({ requestId, done: true, error: error.rawMessage, errorCode: error.code }),
        },
      });
    }
  }

  private async list(request: FileRequest, reply: ReplyChannel): Promise<void> {
    const root = await sandboxRoot(this.options.tasksDir, request.taskId);
    const shown = normalizeRequested(request.path);
    const real = await resolveInSandbox(root, request.path);
    const opened = await openInSandbox(root, real, 'any', request.path);
    let entries: FileEntry[];
    try {
      if (!opened.stats.isDirectory()) {
        entries = [entryOf(shown, opened.stats)];
      } else {
        // Listed and stat-ed through the open descriptor: a swap after the open cannot redirect it.
        const names = await fs.readdir(opened.viaFd);
        entries = [];
        for (const name of names) {
          try {
            const st = await fs.lstat(path.join(opened.viaFd, name));
            entries.push(entryOf(shown === '' ? name : `${shown}/${name}`, st));
          } catch (e) {
            if (!isMissing(e)) throw e;
          }
        }
        entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      }
    } finally {
      await opened.handle.close();
    }
    send(reply, { requestId: request.requestId, entries, done: true });
  }

  /** READ without follow: a range or the tail of the file as it is now. */
  private async read(request: FileRequest, reply: ReplyChannel, signal: AbortSignal): Promise<void> {
    const root = await sandboxRoot(this.options.tasksDir, request.taskId);
    const real = await resolveInSandbox(root, request.path);
    const { handle, stats } = await openInSandbox(root, real, 'file', request.path);
    try {
      const size = stats.size;
      const start = request.tailBytes > 0 ? Math.max(0, size - request.tailBytes) : Math.min(request.offset, size);
      const end = request.length > 0 ? Math.min(size, start + request.length) : size;
      const buffer = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
      let at = start;
      for (;;) {
        const want = Math.min(FILE_CHUNK_BYTES, end - at);
        const bytesRead = want > 0 ? (await handle.read(buffer, 0, want, at)).bytesRead : 0;
        if (signal.aborted) return;
        const last = bytesRead === 0 || at + bytesRead >= end;
        await writable(reply, signal);
        if (signal.aborted) return;
        send(reply, { requestId: request.requestId, data: Buffer.from(buffer.subarray(0, bytesRead)), offset: at, done: last });
        at += bytesRead;
        if (last) return;
      }
    } finally {
      await handle.close();
    }
  }

  /** READ with follow (see the top of the file). */
  private async follow(request: FileRequest, reply: ReplyChannel, signal: AbortSignal): Promise<void> {
    const { requestId, taskId } = request;
    const root = await sandboxRoot(this.options.tasksDir, taskId).catch(async (e: unknown) => {
      // A task being launched may not have its sandbox yet.
      if (!(e instanceof DroverError && e.code === Code.NotFound)) throw e;
      while (this.options.liveness(taskId) === 'live' && !signal.aborted) {
        await sleep(this.pollMs, signal);
        try {
          return await sandboxRoot(this.options.tasksDir, taskId);
        } catch (again) {
          if (!(again instanceof DroverError && again.code === Code.NotFound)) throw again;
        }
      }
      throw e;
    });
    // Rotations are known by the file's own path: following a symlink to stdout follows stdout.
    const resolved = await resolveInSandbox(root, request.path).catch((e: unknown) => {
      if (e instanceof DroverError && e.code === Code.NotFound) return undefined;
      throw e;
    });
    const logPath = resolved === undefined ? normalizeRequested(request.path) : path.relative(root.real, resolved);
    const key = logKey(taskId, logPath);
    const cursor = new FollowCursor(root, logPath, this.options.rotations, key);
    const limit = request.length > 0 ? request.length : Number.POSITIVE_INFINITY;
    let sent = 0;
    await this.options.rotations.exclusive(key, () => cursor.begin(request));
    while (!signal.aborted) {
      const wasLive = this.options.liveness(taskId) === 'live';
      const chunks = await this.options.rotations.exclusive(key, () => cursor.pull(Math.min(PULL_BYTES, limit - sent)));
      for (const chunk of chunks) {
        await writable(reply, signal);
        if (signal.aborted) return;
        sent += chunk.data.length;
        send(reply, { requestId, data: chunk.data, offset: chunk.offset, done: sent >= limit });
        if (sent >= limit) return;
      }
      if (chunks.length > 0) continue;
      if (!wasLive) {
        // Everything written before the task ended has been sent.
        send(reply, { requestId, done: true });
        return;
      }
      await sleep(this.pollMs, signal);
    }
  }
}

/** One chunk read for a follower. */
interface Chunk {
  readonly data: Buffer;
  readonly offset: number;
}

/** The part of a rotated-away file a follower still has to send. */
interface Segment {
  readonly rotation: number;
  from: number;
  readonly to: number;
}

/**
 * Where a follower is: a position in the live file, and the unsent parts of
 * files rotated away since. Every method runs under the log's rotation lock.
 */
class FollowCursor {
  private position = 0;
  private inode: number | undefined;
  private seen = 0;
  private readonly segments: Segment[] = [];

  constructor(
    private readonly root: SandboxRoot,
    /** The followed file, relative to the sandbox (resolved again, safely, on every open). */
    private readonly logPath: string,
    private readonly journal: RotationJournal,
    private readonly key: string,
  ) {}

  /** Places the cursor where the request starts. */
  async begin(request: FileRequest): Promise<void> {
    this.seen = this.journal.rotations(this.key).count;
    const live = await this.openLive();
    if (live === undefined) return;
    try {
      const size = live.stats.size;
      this.inode = live.stats.ino;
      if (request.tailBytes > 0) this.position = Math.max(0, size - request.tailBytes);
      else this.position = request.offset <= size ? request.offset : 0;
    } finally {
      await live.handle.close();
    }
  }

  /** Up to `budget` bytes that are new since the last pull, in order. */
  async pull(budget: number): Promise<Chunk[]> {
    this.noteRotations();
    const chunks: Chunk[] = [];
    let left = budget;
    const history = this.journal.rotations(this.key);
    while (left > 0 && this.segments.length > 0) {
      const segment = this.segments[0] as Segment;
      const index = history.count - segment.rotation + 1;
      const read = index <= history.kept ? await this.readRotated(index, segment, left) : [];
      if (read.length === 0) {
        this.segments.shift(); // fully sent, or its copy is gone
        continue;
      }
      for (const c of read) {
        chunks.push(c);
        left -= c.data.length;
        segment.from += c.data.length;
      }
    }
    if (left <= 0) return chunks;
    const live = await this.openLive();
    if (live === undefined) return chunks;
    try {
      if (this.inode !== undefined && live.stats.ino !== this.inode) this.position = 0; // replaced by someone else
      if (live.stats.size < this.position) this.position = 0; // truncated by someone else
      this.inode = live.stats.ino;
      const read = await readChunks(live.handle, this.position, Math.min(live.stats.size, this.position + left));
      for (const c of read) this.position += c.data.length;
      chunks.push(...read);
    } finally {
      await live.handle.close();
    }
    return chunks;
  }

  /** Turns rotations since the last look into segments to finish, and restarts the live file at 0. */
  private noteRotations(): void {
    const history = this.journal.rotations(this.key);
    for (let r = this.seen + 1; r <= history.count; r++) {
      const copied = history.copied(r);
      if (copied !== undefined && copied > this.position) this.segments.push({ rotation: r, from: this.position, to: copied });
      this.position = 0;
    }
    this.seen = history.count;
  }

  private async readRotated(index: number, segment: Segment, budget: number): Promise<Chunk[]> {
    const name = `${this.logPath}.${index}`;
    let opened;
    try {
      opened = await openInSandbox(this.root, await resolveInSandbox(this.root, name), 'file', name);
    } catch (e) {
      if (e instanceof DroverError && e.code === Code.NotFound) return [];
      throw e;
    }
    try {
      const end = Math.min(segment.to, opened.stats.size, segment.from + budget);
      return await readChunks(opened.handle, segment.from, end);
    } finally {
      await opened.handle.close();
    }
  }

  /** The live file opened safely; undefined while it does not exist. */
  private async openLive() {
    try {
      return await openInSandbox(this.root, await resolveInSandbox(this.root, this.logPath), 'file', this.logPath);
    } catch (e) {
      if (e instanceof DroverError && e.code === Code.NotFound) return undefined;
      throw e;
    }
  }
}

/** Bytes [from, to) of an open file as chunks of at most FILE_CHUNK_BYTES (fewer if the file is shorter). */
async function readChunks(handle: fs.FileHandle, from: number, to: number): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  let at = from;
  while (at < to) {
    const buffer = Buffer.allocUnsafe(Math.min(FILE_CHUNK_BYTES, to - at));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) break;
    chunks.push({ data: buffer.subarray(0, bytesRead), offset: at });
    at += bytesRead;
  }
  return chunks;
}

function entryOf(shown: string, st: Stats): FileEntry {
  return {
    path: shown,
    size: st.size,
    isDirectory: st.isDirectory(),
    modifiedAt: st.mtime,
    mode: st.mode & 0o7777,
  };
}

/** Any failure as the DroverError to answer with; system errors keep host paths out of the message. */
function fileError(e: unknown, requested: string): DroverError {
  if (e instanceof DroverError) return e;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  const name = JSON.stringify(requested);
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return new DroverError(`${name}: permission denied`, Code.PermissionDenied, { cause: e });
    case 'ENOENT':
    case 'ENOTDIR':
      return new DroverError(`${name} does not exist`, Code.NotFound, { cause: e });
    case 'EISDIR':
      return new DroverError(`${name} is a directory`, Code.InvalidArgument, { cause: e });
    case undefined:
      return DroverError.from(e, Code.Internal);
    default:
      return new DroverError(`${name}: ${errno}`, Code.Internal, { cause: e });
  }
}

function send(reply: ReplyChannel, response: Partial<FileResponse>): void {
  reply.send({ message: { $case: 'fileResponse', value: FileResponse.fromPartial(response) } });
}

/** Waits until the stream takes more, or `signal` aborts (a stalled master must not hold up a cancel or a stop). */
function writable(reply: ReplyChannel, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void reply.writable().then(done);
  });
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
