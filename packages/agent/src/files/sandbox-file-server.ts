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
 * READ with `follow` is answered by file-follow.ts.
 *
 * Paths are resolved with the rules of sandbox/sandbox-paths.ts. Requests
 * work for tasks the agent tracks and for forgotten ones whose sandbox is
 * still on disk.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code, DroverError, type Logger } from '@drover/common';
import { type FileEntry, FileOperation, type FileRequest, FileResponse } from '@drover/proto';
import type { RotationJournal } from '../sandbox/log-rotator.js';
import { isMissing, normalizeRequested, openInSandbox, resolveInSandbox, sandboxRoot } from '../sandbox/sandbox-paths.js';
import type { FileMessage, ReplyChannel } from '../session/master-session.js';
import { followFile } from './file-follow.js';
import { entryOf, FILE_CHUNK_BYTES, fileError, send, writable } from './file-replies.js';

export { FILE_CHUNK_BYTES } from './file-replies.js';

/** Default time between two looks at a followed file. */
export const DEFAULT_FOLLOW_POLL_MS = 250;

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
          if (request.follow) await followFile(request, reply, signal, { ...this.options, pollMs: this.pollMs });
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
}
