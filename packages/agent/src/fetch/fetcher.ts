/**
 * Puts a task's artifacts (TaskSpec.fetch, Marathon's `fetch`) into its
 * sandbox before the task starts. The task manager calls fetchAll while the
 * task is STARTING; a FetchError makes the task FAILED / FETCH_FAILED with
 * the error's one line (`fetch <uri>: <why>`) and nothing is started.
 *
 * For each FetchUri, in order (a later one may land inside an earlier one's
 * unpacked tree):
 *
 *   1. the destination is dest_path, else the URI's last path segment, always
 *      inside the sandbox (sandbox/sandbox-paths.ts);
 *   2. the bytes are streamed to a temp file beside the destination, from
 *      the URI (download.ts) or from the agent's cache when `cache` is set
 *      (artifact-cache.ts), checked against sha256 when given, then renamed
 *      into place;
 *   3. `executable` adds the x bits;
 *   4. `extract` (default: on for .tar.gz, .tgz, .tar and .zip names) unpacks
 *      into the destination's directory (archive.ts), keeping the archive.
 *
 * Everything is streamed or done by libuv's thread pool (copyFile, rename),
 * so a large artifact never blocks the agent's event loop.
 */
import { randomUUID } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@drover/common';
import type { FetchUri } from '@drover/proto';
import { CHECKPOINT_FILE } from '../sandbox/sandbox.js';
import { makeDirsInside } from '../sandbox/sandbox-paths.js';
import { linkSignals } from './abort-link.js';
import { type ArchiveKind, archiveKindOf, extractArchive } from './archive.js';
import { ArtifactCache, type CacheOutcome } from './artifact-cache.js';
import { destinationOf } from './artifact-destination.js';
import { type Downloaded, download, FETCH_SCHEMES } from './download.js';
import { ArtifactProblem, FetchError, maskedUri } from './fetch-error.js';

/** Default idle timeout: a download with no data for this long fails. */
export const DEFAULT_FETCH_IDLE_TIMEOUT_MS = 60_000;

/** How a Fetcher works. */
export interface FetcherOptions {
  /** Logger (a child named "fetcher" is taken). */
  logger: Logger;
  /** Directory of the artifact cache; without one `cache: true` is ignored and every fetch downloads. */
  cacheDir?: string;
  /** A download with no data for this long fails; default DEFAULT_FETCH_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** How often a running download logs its progress; default 5000 ms. */
  progressIntervalMs?: number;
}

/** The task a fetch is for. */
export interface FetchTarget {
  /** The task (for logs). */
  readonly taskId: string;
  /** Its sandbox directory (exists). */
  readonly sandboxDir: string;
  /** Aborts this task's fetch (the task was killed). */
  readonly signal?: AbortSignal;
}

/** One artifact in place. */
export interface FetchedArtifact {
  /** The URI it came from. */
  readonly uri: string;
  /** Absolute path of the file in the sandbox. */
  readonly path: string;
  /** Its size. */
  readonly bytes: number;
  /** 'off' when not cached, else how the cache served it. */
  readonly cache: CacheOutcome | 'off';
  /** Entries unpacked, or undefined when it was not extracted. */
  readonly extracted: number | undefined;
}

/** Downloads, checks, caches and unpacks task artifacts (see the top of this file). */
export class Fetcher {
  private readonly log: Logger;
  private readonly cache: ArtifactCache | undefined;
  private readonly idleTimeoutMs: number;
  private readonly progressIntervalMs: number;
  private readonly closing = new AbortController();

  constructor(options: FetcherOptions) {
    this.log = options.logger.child({ component: 'fetcher' });
    this.cache = options.cacheDir === undefined ? undefined : new ArtifactCache(options.cacheDir, this.log);
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_FETCH_IDLE_TIMEOUT_MS;
    this.progressIntervalMs = options.progressIntervalMs ?? 5000;
  }

  /** Puts every artifact into the sandbox, in order; rejects with a FetchError at the first that fails. */
  async fetchAll(uris: readonly FetchUri[], target: FetchTarget): Promise<FetchedArtifact[]> {
    const done: FetchedArtifact[] = [];
    for (const uri of uris) {
      try {
        done.push(await this.fetchOne(uri, target));
      } catch (e) {
        const error = FetchError.of(uri.uri, this.closing.signal.aborted ? new ArtifactProblem('canceled', 'the agent is stopping', e) : e);
        this.log.warn({ taskId: target.taskId, uri: maskedUri(uri.uri), problem: error.problem, err: e }, error.rawMessage);
        throw error;
      }
    }
    return done;
  }

  /** Aborts every fetch in progress (the agent is stopping); fetchAll fails with 'canceled' from now on. */
  close(): void {
    this.closing.abort();
  }

  private async fetchOne(spec: FetchUri, target: FetchTarget): Promise<FetchedArtifact> {
    const plan = planOf(spec);
    const linked = linkSignals(this.closing.signal, target.signal);
    try {
      if (linked.signal.aborted) throw new ArtifactProblem('canceled', 'canceled');
      return await this.place(plan, target, linked.signal);
    } finally {
      linked.unlink();
    }
  }

  /** Puts one planned artifact in place: bytes, executable bit, extraction. */
  private async place(plan: Plan, target: FetchTarget, signal: AbortSignal): Promise<FetchedArtifact> {
    const { spec, url, sha256, rel, kind } = plan;
    const started = Date.now();
    const log = this.log.child({ taskId: target.taskId, uri: maskedUri(spec.uri) });
    log.info({ dest: rel, cache: spec.cache, extract: kind !== undefined, sha256: sha256 !== '' }, 'fetching');

    const dir = await makeDirsInside(target.sandboxDir, path.posix.dirname(rel));
    const dest = path.join(dir, path.posix.basename(rel));
    const tmp = path.join(dir, `.drover-fetch-${randomUUID()}.part`);
    let bytes: number;
    let cache: FetchedArtifact['cache'] = 'off';
    try {
      if (spec.cache && this.cache !== undefined) {
        // The shared download answers to the agent's stop only: one task's kill must not fail the others.
        const fill = (file: string) => this.download(url, sha256, file, this.closing.signal, log);
        const cached = await this.cache.get(spec.uri, sha256, fill, signal);
        cache = cached.outcome;
        await fs.copyFile(cached.file, tmp, constants.COPYFILE_FICLONE);
        bytes = (await fs.stat(tmp)).size;
      } else {
        bytes = (await this.download(url, sha256, tmp, signal, log)).bytes;
      }
      await fs.rename(tmp, dest);
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
    if (spec.executable) {
      const { mode } = await fs.stat(dest);
      await fs.chmod(dest, (mode & 0o777) | 0o111);
    }
    let extracted: number | undefined;
    if (kind !== undefined) {
      const reserved = new Set([path.join(target.sandboxDir, CHECKPOINT_FILE)]);
      extracted = await extractArchive(kind, dest, { dir, reserved, signal });
    }
    log.info({ dest: rel, bytes, cache, extracted, ms: Date.now() - started }, 'fetched');
    return { uri: spec.uri, path: dest, bytes, cache, extracted };
  }

  /** Downloads into `file` and checks the sha256 (when one is expected). */
  private async download(url: URL, sha256: string, file: string, signal: AbortSignal, log: Logger): Promise<Downloaded> {
    const got = await download(url, file, {
      signal,
      idleTimeoutMs: this.idleTimeoutMs,
      progressIntervalMs: this.progressIntervalMs,
      onProgress: (bytes, total) => log.info({ bytes, total }, 'fetch progress'),
    });
    if (sha256 !== '' && got.sha256 !== sha256) {
      await fs.rm(file, { force: true });
      throw new ArtifactProblem('checksum', `sha256 mismatch (expected ${sha256}, got ${got.sha256})`);
    }
    return got;
  }
}

/** A FetchUri checked and resolved, before any I/O. */
interface Plan {
  readonly spec: FetchUri;
  readonly url: URL;
  /** Expected SHA-256, lowercase; '' when none. */
  readonly sha256: string;
  /** Sandbox-relative destination. */
  readonly rel: string;
  /** The archive kind to unpack, or undefined to leave the file as it is. */
  readonly kind: ArchiveKind | undefined;
}

/** Checks a FetchUri and works out where it goes and whether it is unpacked; throws ArtifactProblem. */
function planOf(spec: FetchUri): Plan {
  const url = parseUri(spec.uri);
  const sha256 = spec.sha256.toLowerCase();
  if (sha256 !== '' && !/^[0-9a-f]{64}$/.test(sha256)) throw new ArtifactProblem('invalid', 'sha256 must be 64 hex digits');
  const rel = destinationOf(url, spec.destPath);
  const kind = archiveKindOf(rel) ?? archiveKindOf(url.pathname);
  if (spec.extract === true && kind === undefined) {
    throw new ArtifactProblem('invalid', `extract is set but ${JSON.stringify(rel)} is not a .tar.gz, .tgz, .tar or .zip`);
  }
  return { spec, url, sha256, rel, kind: spec.extract === false ? undefined : kind };
}

function parseUri(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ArtifactProblem('invalid', 'not a valid URI');
  }
  if (!(FETCH_SCHEMES as readonly string[]).includes(url.protocol)) {
    throw new ArtifactProblem('invalid', `unsupported scheme ${url.protocol} (use http, https or file)`);
  }
  return url;
}
