/**
 * Following a file of a task's sandbox: READ with `follow`.
 *
 * It keeps sending what is appended, polling every `followPollMs`. It survives log rotation (see sandbox/log-rotator.ts): each
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
 */
import type { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code, DroverError } from '@drover/common';
import type { FileRequest } from '@drover/proto';
import { logKey, type RotationJournal } from '../sandbox/log-rotator.js';
import { normalizeRequested, openInSandbox, resolveInSandbox, sandboxRoot, type SandboxRoot } from '../sandbox/sandbox-paths.js';
import type { ReplyChannel } from '../session/master-session.js';
import { FILE_CHUNK_BYTES, send, writable } from './file-replies.js';

/** Bytes read under a log's lock in one go (the lock holds rotation off). */
const PULL_BYTES = 16 * FILE_CHUNK_BYTES;

/** What a follow works with (the file server's options). */
export interface FollowOptions {
  /** Parent of the sandboxes. */
  readonly tasksDir: string;
  /** Whether the task runs: the follow ends once it does not and everything was sent. */
  readonly liveness: (taskId: string) => 'live' | 'ended' | undefined;
  /** Rotations of the logs, to follow across them. */
  readonly rotations: RotationJournal;
  /** Time between two looks at the file. */
  readonly pollMs: number;
}

/** Answers a READ with follow (see the top of the file) until it is done or `signal` aborts. */
export async function followFile(request: FileRequest, reply: ReplyChannel, signal: AbortSignal, o: FollowOptions): Promise<void> {
  const { requestId, taskId } = request;
  const root = await sandboxRoot(o.tasksDir, taskId).catch(async (e: unknown) => {
    // A task being launched may not have its sandbox yet.
    if (!(e instanceof DroverError && e.code === Code.NotFound)) throw e;
    while (o.liveness(taskId) === 'live' && !signal.aborted) {
      await sleep(o.pollMs, signal);
      try {
        return await sandboxRoot(o.tasksDir, taskId);
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
  const cursor = new FollowCursor(root, logPath, o.rotations, key);
  const limit = request.length > 0 ? request.length : Number.POSITIVE_INFINITY;
  let sent = 0;
  await o.rotations.exclusive(key, () => cursor.begin(request));
  while (!signal.aborted) {
    const wasLive = o.liveness(taskId) === 'live';
    const chunks = await o.rotations.exclusive(key, () => cursor.pull(Math.min(PULL_BYTES, limit - sent)));
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
    await sleep(o.pollMs, signal);
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
