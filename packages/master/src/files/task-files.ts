/**
 * Task logs and sandbox files for clients, on top of the FileRelay: what
 * Tasks.Logs, Tasks.ListFiles and Tasks.ReadFile do, without gRPC.
 *
 * Flow control. The agent sends as fast as its stream allows, so the master
 * must not ask for more than its client takes. Plain reads therefore go in
 * windows: one agent request of at most `windowBytes`, written out, then
 * the next once the client has drained (offset/length make each window its
 * own request). A follow is one long request whose pace is the task's
 * output; if the client falls more than `maxBacklogBytes` behind, the
 * follow is cancelled with RESOURCE_EXHAUSTED rather than buffering without
 * bound.
 *
 * Logs with tail_lines asks the agent for the file's last bytes (a guess of
 * 256 bytes a line, doubled until enough newlines came or the whole file
 * did, up to 16 MiB) and cuts them to the last N lines; tail_lines 0 asks
 * for the last byte only, to learn where the file ends, and sends nothing
 * (`tail -n 0`), so a follow shows only what is written from then on. With follow, the
 * follow request then starts where that read ended; a rotation in the
 * instant between the two requests makes the agent start the new file from
 * 0 (see the agent's file server). The tail only looks at the live file,
 * not at rotated copies. A follow ends when the agent says done (the task
 * ended and everything it wrote was sent) or the client goes away.
 */
import { Code, DroverError } from '@drover/common';
import { type FileEntry, FileOperation, type FileResponse } from '@drover/proto';
import type { FileAsk, FileRelay } from './file-relay.js';

/** Where streamed bytes go (a gRPC server stream in production). */
export interface ByteSink {
  /** Writes one piece that starts at `offset` in its file; false when the consumer is behind. */
  write(data: Buffer, offset: number): boolean;
  /** Resolves once the consumer took what was written (or went away). */
  drained(): Promise<void>;
  /** Bytes written but not taken by the consumer yet. */
  readonly backlog: number;
}

/** How a Logs call reads. */
export interface LogsRequest {
  /** stderr instead of stdout. */
  stderr: boolean;
  /** Keep streaming until the task ends or the call is cancelled. */
  follow: boolean;
  /** Start with the last this-many lines, none with 0 (a follow then starts at the end); unset: the whole current file. */
  tailLines?: number;
}

/** Tuning of TaskFiles. */
export interface TaskFilesOptions {
  /** Bytes asked of the agent per request of a plain read; default 1 MiB. */
  windowBytes?: number;
  /** Bytes a follow may run ahead of its client before it is cancelled; default 8 MiB. */
  maxBacklogBytes?: number;
}

/** Guessed bytes per line when asking for a tail. */
const BYTES_PER_LINE_GUESS = 256;
/** The most a tail_lines read asks for. */
const MAX_TAIL_BYTES = 16 * 1024 * 1024;

/** Logs, listings and file reads of task sandboxes. */
export class TaskFiles {
  private readonly windowBytes: number;
  private readonly maxBacklogBytes: number;

  constructor(
    private readonly relay: FileRelay,
    options: TaskFilesOptions = {},
  ) {
    this.windowBytes = options.windowBytes ?? 1024 * 1024;
    this.maxBacklogBytes = options.maxBacklogBytes ?? 8 * 1024 * 1024;
  }

  /** A directory's entries, sorted by path (a file path gives that one entry). */
  async list(taskId: string, path: string): Promise<FileEntry[]> {
    let entries: FileEntry[] = [];
    await this.relay.request(taskId, { operation: FileOperation.FILE_OPERATION_LIST, path }, (r) => {
      entries = entries.concat(r.entries);
    });
    return entries;
  }

  /** Bytes [offset, offset + length) of a file (length 0: to its end), in windows paced by the sink. */
  async read(taskId: string, path: string, range: { offset: number; length: number }, sink: ByteSink, signal: AbortSignal): Promise<number> {
    let at = range.offset;
    const end = range.length > 0 ? range.offset + range.length : Number.POSITIVE_INFINITY;
    for (;;) {
      const want = Math.min(this.windowBytes, end - at);
      let got = 0;
      let last = at;
      await this.relay.request(
        taskId,
        { operation: FileOperation.FILE_OPERATION_READ, path, offset: at, length: want },
        (r) => {
          if (r.data.length === 0) return;
          sink.write(r.data, r.offset);
          got += r.data.length;
          last = r.offset + r.data.length;
        },
        signal,
      );
      if (signal.aborted) return last;
      at = last;
      if (got < want || at >= end) return at;
      if (sink.backlog > 0) await sink.drained();
    }
  }

  /** A task's stdout or stderr (see the top of the file for tail and follow). */
  async logs(taskId: string, request: LogsRequest, sink: ByteSink, signal: AbortSignal): Promise<void> {
    const path = request.stderr ? 'stderr' : 'stdout';
    const end =
      request.tailLines === undefined
        ? await this.read(taskId, path, { offset: 0, length: 0 }, sink, signal)
        : await this.tail(taskId, path, request.tailLines, sink, signal);
    if (!request.follow || signal.aborted) return;
    await this.follow(taskId, { operation: FileOperation.FILE_OPERATION_READ, path, offset: end, follow: true }, sink, signal);
  }

  /** Writes the last `lines` lines of the file; returns the offset its end had. */
  private async tail(taskId: string, path: string, lines: number, sink: ByteSink, signal: AbortSignal): Promise<number> {
    // No lines: only where the file ends matters, which its last byte tells.
    let bytes = lines === 0 ? 1 : Math.max(4096, lines * BYTES_PER_LINE_GUESS);
    for (;;) {
      const parts: FileResponse[] = [];
      await this.relay.request(taskId, { operation: FileOperation.FILE_OPERATION_READ, path, tailBytes: bytes }, (r) => void parts.push(r), signal);
      if (signal.aborted) return 0;
      const data = Buffer.concat(parts.map((p) => p.data));
      const start = parts[0]?.offset ?? 0;
      const end = start + data.length;
      const cut = lines === 0 ? data.length : lastLines(data, lines);
      // Enough lines, or nothing before them: this is the tail.
      if (cut > 0 || start === 0 || bytes >= MAX_TAIL_BYTES) {
        if (cut < data.length) sink.write(data.subarray(cut), start + cut);
        return end;
      }
      bytes = Math.min(MAX_TAIL_BYTES, bytes * 2);
    }
  }

  /** One follow request; cancelled with RESOURCE_EXHAUSTED when the client falls too far behind. */
  private async follow(taskId: string, ask: FileAsk, sink: ByteSink, signal: AbortSignal): Promise<void> {
    await this.relay.request(
      taskId,
      ask,
      (r) => {
        if (r.data.length === 0) return;
        sink.write(r.data, r.offset);
        if (sink.backlog > this.maxBacklogBytes) {
          throw new DroverError(`the client fell more than ${this.maxBacklogBytes} bytes behind the log; follow again`, Code.ResourceExhausted);
        }
      },
      signal,
    );
  }
}

/**
 * Where the last `lines` lines of `data` start. A final line without a
 * newline counts as a line. 0 when `data` has no more lines than that
 * (everything is the tail, or the start of the first line is not in it).
 */
export function lastLines(data: Buffer, lines: number): number {
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  let found = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (data[i] === 0x0a && ++found === lines) return i + 1;
  }
  return 0;
}
