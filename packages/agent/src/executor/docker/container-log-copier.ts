/**
 * Copies a container's stdout and stderr into the task's sandbox files, so
 * a container task leaves the same evidence as a process task.
 *
 * The daemon keeps the container's output (json-file driver) and serves it
 * as a multiplexed stream of frames (8-byte header: stream, 0, 0, 0, size),
 * each one log message prefixed with its RFC 3339 timestamp. The copier
 * follows that stream until the container ends, strips the timestamps, and
 * remembers the newest one it wrote: in memory, and (at most once a second,
 * and when it stops) in a position file in the sandbox. A copier started
 * again after an agent restart asks the daemon for the messages since that
 * time and skips those not newer, so nothing is lost and, unless the agent
 * died within a second of writing, nothing is written twice.
 *
 * A follow stream can also end because the daemon restarted; the copier then
 * looks at the container and follows again while it runs. Once the container
 * is stopped it reads what is left without following, and is done.
 */
import { promises as fs, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DroverError, type Logger } from '@drover/common';
import type Dockerode from 'dockerode';
import type { Sandbox } from '../../sandbox/sandbox.js';

/** Name of the position file inside the sandbox. */
export const LOG_POSITION_FILE = '.drover-container-logs.json';

/** One message of a multiplexed Docker log stream. */
export interface LogFrame {
  /** 1 = stdout, 2 = stderr (0 = stdin, not used). */
  readonly stream: number;
  /** The message, timestamp included when asked for. */
  readonly payload: Buffer;
}

/** Splits Docker's multiplexed stream into frames, across chunk boundaries. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Frames completed by `chunk`. */
  push(chunk: Buffer): LogFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: LogFrame[] = [];
    let at = 0;
    while (this.pending.length - at >= 8) {
      const size = this.pending.readUInt32BE(at + 4);
      if (this.pending.length - at - 8 < size) break;
      frames.push({ stream: this.pending[at] ?? 1, payload: this.pending.subarray(at + 8, at + 8 + size) });
      at += 8 + size;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }
}

/** A timestamped message split into its time (ns since the epoch) and text. */
export function splitTimestamp(payload: Buffer): { ns: bigint; text: Buffer } | undefined {
  const space = payload.indexOf(0x20);
  if (space < 0 || space > 40) return undefined;
  const ns = parseTimestamp(payload.subarray(0, space).toString());
  return ns === undefined ? undefined : { ns, text: payload.subarray(space + 1) };
}

/** "2025-01-02T03:04:05.123456789Z" -> nanoseconds since the epoch. */
export function parseTimestamp(text: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Nanoseconds -> Docker's `since` ("seconds.nanoseconds"). */
export function sinceParameter(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}

/** How a copier is set up. */
export interface ContainerLogCopierOptions {
  /** The container to read. */
  readonly container: Dockerode.Container;
  /** The sandbox whose stdout and stderr receive the output. */
  readonly sandbox: Sandbox;
  /** Logger of the executor. */
  readonly logger: Logger;
  /** Delay before following again after the stream broke; default 500 ms. */
  readonly retryDelayMs?: number;
}

/** Follows one container's output into its sandbox (see the top of the file). */
export class ContainerLogCopier {
  /** Resolves once the container ended and all of its output is written, or the copier was stopped. */
  readonly done: Promise<void>;
  private readonly positionFile: string;
  private readonly retryDelayMs: number;
  private lastNs = 0n;
  private savedNs = 0n;
  private stopped = false;
  private stream: NodeJS.ReadableStream | undefined;
  private readonly abort = new AbortController();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ContainerLogCopierOptions) {
    this.positionFile = path.join(options.sandbox.dir, LOG_POSITION_FILE);
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.done = this.run().catch((e: unknown) => {
      this.options.logger.error({ err: e, container: this.options.container.id }, 'container log copy failed');
    });
  }

  /** Stops following (the container is not touched) and saves the position. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    const stream = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    stream?.destroy?.();
    clearTimeout(this.saveTimer);
    this.saveSync();
  }

  private async run(): Promise<void> {
    this.lastNs = this.savedNs = await this.loadPosition();
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.copy(true);
        failures = 0;
      } catch (e) {
        if (this.stopped) return;
        // Said once per outage, not once per attempt.
        if (failures++ === 0) this.options.logger.warn({ err: e, container: this.options.container.id }, 'container log stream broke');
      }
      if (this.stopped) return;
      const running = await this.isRunning();
      if (running === false) {
        await this.copy(false).catch((e: unknown) => {
          this.options.logger.warn({ err: e, container: this.options.container.id }, 'cannot read the last container logs');
        });
        break;
      }
      await new Promise((r) => setTimeout(r, this.retryDelayMs));
    }
    clearTimeout(this.saveTimer);
    await this.save();
  }

  /** Copies the messages since the position: following the container, or what there is now. */
  private async copy(follow: boolean): Promise<void> {
    const request = {
      follow,
      stdout: true,
      stderr: true,
      timestamps: true,
      ...(this.lastNs > 0n ? { since: sinceParameter(this.lastNs) } : {}),
      abortSignal: this.abort.signal,
    };
    // Within one read every message comes once; only a new read repeats the
    // messages at its start (`since` is inclusive). stdout and stderr
    // timestamps may be slightly out of order, so only those are skipped.
    const from = this.lastNs;
    const decoder = new FrameDecoder();
    const stdout = await fs.open(this.options.sandbox.stdoutPath, 'a', 0o644);
    try {
      const stderr = await fs.open(this.options.sandbox.stderrPath, 'a', 0o644);
      try {
        if (follow) {
          const stream = (await this.options.container.logs({ ...request, follow: true })) as NodeJS.ReadableStream;
          this.stream = stream;
          if (this.stopped) return;
          for await (const chunk of stream) {
            await this.write(decoder.push(chunk as Buffer), from, stdout, stderr);
            if (this.stopped) return;
          }
        } else {
          const all = (await this.options.container.logs({ ...request, follow: false })) as unknown as Buffer;
          await this.write(decoder.push(Buffer.from(all)), from, stdout, stderr);
        }
      } finally {
        this.stream = undefined;
        await stderr.close();
      }
    } finally {
      await stdout.close();
    }
  }

  private async write(frames: LogFrame[], from: bigint, stdout: fs.FileHandle, stderr: fs.FileHandle): Promise<void> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    for (const frame of frames) {
      const message = splitTimestamp(frame.payload);
      if (message === undefined) continue;
      if (message.ns <= from) continue;
      if (message.ns > this.lastNs) this.lastNs = message.ns;
      (frame.stream === 2 ? err : out).push(message.text);
    }
    if (out.length > 0) await stdout.write(Buffer.concat(out));
    if (err.length > 0) await stderr.write(Buffer.concat(err));
    if (this.lastNs !== this.savedNs && this.saveTimer === undefined && !this.stopped) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = undefined;
        void this.save();
      }, 1000);
    }
  }

  private async isRunning(): Promise<boolean | undefined> {
    try {
      const info = await this.options.container.inspect({ abortSignal: this.abort.signal });
      return info.State.Running;
    } catch (e) {
      // Gone: nothing more to read. Otherwise (daemon away) ask again later.
      return (e as { statusCode?: number }).statusCode === 404 ? false : undefined;
    }
  }

  private async loadPosition(): Promise<bigint> {
    try {
      const saved = JSON.parse(await fs.readFile(this.positionFile, 'utf8')) as { lastTimestampNs?: string };
      return BigInt(saved.lastTimestampNs ?? '0');
    } catch {
      return 0n;
    }
  }

  private async save(): Promise<void> {
    if (this.lastNs === this.savedNs) return;
    const ns = this.lastNs;
    try {
      await fs.writeFile(this.positionFile, JSON.stringify({ lastTimestampNs: String(ns) }));
      this.savedNs = ns;
    } catch (e) {
      this.options.logger.warn({ err: DroverError.from(e), file: this.positionFile }, 'cannot save the container log position');
    }
  }

  private saveSync(): void {
    if (this.lastNs === this.savedNs) return;
    try {
      writeFileSync(this.positionFile, JSON.stringify({ lastTimestampNs: String(this.lastNs) }));
      this.savedNs = this.lastNs;
    } catch (e) {
      this.options.logger.warn({ err: DroverError.from(e), file: this.positionFile }, 'cannot save the container log position');
    }
  }
}
