/**
 * Size-based rotation of every live task's stdout and stderr.
 *
 * Tasks write their output straight into the sandbox files through
 * descriptors the executor opened with O_APPEND ('a'); no pipe runs through
 * the agent, so a task never blocks on (or dies with) the agent. The agent
 * therefore cannot rotate by reopening, and rotates copytruncate-style, as
 * logrotate does for programs that cannot reopen their logs. When a file
 * passes `maxBytes` (checked every `intervalMs` with one stat per file):
 *
 *   1. copy the live file to `<file>.rotating`, then copy again whatever
 *      was appended meanwhile, until a stat shows no growth (a few rounds
 *      at most: a writer faster than the copy is not chased for ever);
 *   2. shift the older copies (`.1` -> `.2`, ..., the oldest is deleted);
 *   3. rename `.rotating` to `.1`;
 *   4. copy any last growth (again a few rounds at most) and truncate the
 *      live file to zero through the descriptor the copy used; the very
 *      last size check, copy and truncate run synchronously, so a busy
 *      event loop cannot widen the gap between them.
 *
 * Because the task's descriptor has O_APPEND, its next write lands at the
 * new end (offset 0), not at its old offset (which would leave a hole of
 * zeros as large as the old file). A writer that did not open the file with
 * O_APPEND gets exactly that hole: every executor must open logs with 'a'.
 *
 * The honest loss window: bytes the task appends after the last size check
 * of step 4 are in the live file when it is truncated and in no copy. For
 * a task that writes at a normal pace that is the gap between one fstat and
 * one ftruncate (microseconds, usually nothing); a task writing flat out,
 * faster than the agent copies, also loses what it wrote during the last
 * copy round, and whatever of its tail exceeds SYNC_TAIL_BYTES. Nothing else is lost: what was there before is in `.1`, what
 * comes after is in the live file.
 *
 * `files` counts the live file too: 3 keeps stdout, stdout.1 and stdout.2,
 * so a task's output takes at most about files x maxBytes per stream (plus
 * what it writes between two checks).
 *
 * Followers (the file server's `follow` reads) must not see a rotation half
 * done, and must learn where the data they had not read yet went. Both go
 * through this class as a RotationJournal: `exclusive` serializes a
 * follower's read with the rotation of the same file, and `rotations` says
 * how many rotations happened and how many bytes each one copied, so a
 * follower finishes the rotated part from the right `.N` file, then starts
 * the live file from 0.
 *
 * The task owns its sandbox and may replace its logs with symlinks: the
 * live file is opened with O_NOFOLLOW and checked through /proc/self/fd
 * (see sandbox/sandbox-paths.ts), the copy is created with O_EXCL|O_NOFOLLOW,
 * and renames and unlinks never follow links, so rotation never writes to
 * or truncates anything outside the sandbox.
 */
import { constants, fstatSync, ftruncateSync, promises as fs, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Code, DroverError, type Logger } from '@drover/common';
import { isMissing, openInSandbox, sandboxRoot, type SandboxRoot } from './sandbox-paths.js';

/** Default size at which a log is rotated: 10 MiB. */
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
/** Default number of files per stream, the live one included. */
export const DEFAULT_LOG_FILES = 3;
/** Default time between size checks. */
export const DEFAULT_LOG_CHECK_INTERVAL_MS = 2000;

/** The log streams of a sandbox that are rotated. */
export const LOG_STREAMS = ['stdout', 'stderr'] as const;

/** Suffix of the copy being made (renamed to `.1` once complete). */
const ROTATING_SUFFIX = '.rotating';
/** Copy buffer size. */
const COPY_CHUNK = 1024 * 1024;
/** Copy rounds chasing a writer before the shift, and before the truncate. */
const CATCH_UP_ROUNDS = 4;
const FINAL_ROUNDS = 2;
/** Most bytes the final, synchronous catch-up copies (a small tail at a normal writing pace). */
const SYNC_TAIL_BYTES = 256 * 1024;

/** What followers need to know about the rotations of one log. */
export interface RotationJournal {
  /** Runs `fn` while no rotation of the log is under way, and holds rotations off until it settles. */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Rotations of the log so far. */
  rotations(key: string): RotationHistory;
}

/** Rotations of one log, as a follower reads them. */
export interface RotationHistory {
  /** How many times the log was rotated since the agent started. */
  readonly count: number;
  /** Rotated copies kept besides the live file (files - 1): rotation r is in `.(count - r + 1)` while that is <= kept. */
  readonly kept: number;
  /** Bytes copied by rotation number r (1-based), if it is recent enough to still be known. */
  copied(rotation: number): number | undefined;
}

/** The key of a task's log stream in a RotationJournal: "<taskId>/<path in the sandbox>". */
export function logKey(taskId: string, relativePath: string): string {
  return `${taskId}/${relativePath}`;
}

/** How a LogRotator behaves. */
export interface LogRotatorOptions {
  /** Parent of the sandboxes. */
  tasksDir: string;
  /** The tasks whose logs to check (the live ones). */
  liveTasks: () => Iterable<string>;
  /** Rotate a file once it is larger than this. */
  maxBytes?: number;
  /** Files per stream, the live one included (minimum 1: then the file is only truncated). */
  files?: number;
  /** Time between checks. */
  intervalMs?: number;
  /** Logger (a child named "log-rotator" is taken). */
  logger: Logger;
}

interface Rotations {
  count: number;
  /** Bytes copied by the most recent rotations, oldest first (at most `kept` of them). */
  copied: number[];
}

/** Rotates live tasks' logs by size; the RotationJournal of the file server. */
export class LogRotator implements RotationJournal {
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly files: number;
  private readonly intervalMs: number;
  private readonly history = new Map<string, Rotations>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: LogRotatorOptions) {
    this.log = options.logger.child({ component: 'log-rotator' });
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.files = Math.max(1, Math.floor(options.files ?? DEFAULT_LOG_FILES));
    this.intervalMs = options.intervalMs ?? DEFAULT_LOG_CHECK_INTERVAL_MS;
  }

  /** Starts the periodic checks. */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops checking and waits for a check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
  }

  /** Checks every live task's logs once and rotates those over the limit. */
  async checkNow(): Promise<void> {
    for (const taskId of [...this.options.liveTasks()]) {
      for (const stream of LOG_STREAMS) {
        const key = logKey(taskId, stream);
        try {
          await this.checkOne(taskId, stream, key);
        } catch (e) {
          this.log.warn({ taskId, stream, err: e }, 'cannot rotate log');
        }
      }
    }
  }

  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  rotations(key: string): RotationHistory {
    const h = this.history.get(key);
    const count = h?.count ?? 0;
    const copied = [...(h?.copied ?? [])];
    return {
      count,
      kept: this.files - 1,
      copied: (rotation) => (rotation > count ? undefined : copied[copied.length - 1 - (count - rotation)]),
    };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.checking = this.checkNow().finally(() => {
        this.checking = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  private async checkOne(taskId: string, stream: string, key: string): Promise<void> {
    let root: SandboxRoot;
    try {
      root = await sandboxRoot(this.options.tasksDir, taskId);
      const st = await fs.lstat(path.join(root.real, stream));
      if (!st.isFile() || st.size <= this.maxBytes) return;
    } catch (e) {
      // No sandbox (yet) or no log file: nothing to rotate.
      if (isMissing(e) || (e instanceof DroverError && e.code === Code.NotFound)) return;
      throw e;
    }
    await this.exclusive(key, () => this.rotate(root, stream, key));
  }

  /** One copytruncate rotation (see the top of the file). Runs under the log's lock. */
  private async rotate(root: SandboxRoot, stream: string, key: string): Promise<void> {
    const live = path.join(root.real, stream);
    const { handle } = await openInSandbox(root, live, 'file', stream, constants.O_RDWR);
    try {
      let copied = 0;
      if (this.files > 1) {
        const rotating = `${live}${ROTATING_SUFFIX}`;
        await unlinkIfThere(rotating);
        const { handle: copy } = await openInSandbox(
          root,
          rotating,
          'file',
          `${stream}${ROTATING_SUFFIX}`,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        );
        try {
          copied = await catchUp(handle, copy, copied, CATCH_UP_ROUNDS);
          await unlinkIfThere(`${live}.${this.files - 1}`);
          for (let k = this.files - 2; k >= 1; k--) await renameIfThere(`${live}.${k}`, `${live}.${k + 1}`);
          await fs.rename(rotating, `${live}.1`);
          copied = await catchUp(handle, copy, copied, FINAL_ROUNDS);
          // The last catch-up sits right before the truncate: after it is the loss window.
          copied = finishSync(handle.fd, copy.fd, copied);
        } finally {
          await copy.close();
        }
      } else {
        await handle.truncate(0);
      }
      const h = this.history.get(key) ?? { count: 0, copied: [] };
      h.count++;
      h.copied.push(copied);
      if (h.copied.length > this.files - 1) h.copied.shift();
      this.history.set(key, h);
      this.log.info({ log: key, copied, files: this.files }, 'rotated log');
    } finally {
      await handle.close();
    }
  }
}

/** Copies what `source` has beyond `copied` to `target`, again while it grows, at most `rounds` times. */
async function catchUp(source: fs.FileHandle, target: fs.FileHandle, copied: number, rounds: number): Promise<number> {
  let at = copied;
  for (let round = 0; round < rounds; round++) {
    const size = (await source.stat()).size;
    if (size <= at) break;
    at = await copyRange(source, target, at, size);
  }
  return at;
}

/**
 * The last catch-up and the truncate, without yielding to the event loop in
 * between: awaited, each step waits for a turn of a possibly busy loop (a
 * loaded agent lost whole bursts of output there), while here a write can
 * only slip in between one fstat and the ftruncate. At most SYNC_TAIL_BYTES
 * are copied synchronously; a writer faster than that loses the excess, as
 * the top of the file says. Returns how many bytes the copy holds.
 */
function finishSync(sourceFd: number, targetFd: number, copied: number): number {
  const size = fstatSync(sourceFd).size;
  const to = Math.min(size, copied + SYNC_TAIL_BYTES);
  let at = copied;
  if (to > at) {
    const buffer = Buffer.allocUnsafe(to - at);
    while (at < to) {
      const n = readSync(sourceFd, buffer, 0, to - at, at);
      if (n === 0) break;
      writeSync(targetFd, buffer, 0, n, at);
      at += n;
    }
  }
  ftruncateSync(sourceFd, 0);
  return at;
}

/** Copies bytes [from, to) of `source` to the same offsets of `target`; returns where it stopped. */
async function copyRange(source: fs.FileHandle, target: fs.FileHandle, from: number, to: number): Promise<number> {
  const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK, to - from));
  let at = from;
  while (at < to) {
    const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, to - at), at);
    if (bytesRead === 0) break;
    await target.write(buffer, 0, bytesRead, at);
    at += bytesRead;
  }
  return at;
}

async function unlinkIfThere(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

async function renameIfThere(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}
