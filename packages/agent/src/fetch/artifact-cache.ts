/**
 * The agent's artifact cache: FetchUris with `cache: true` are downloaded
 * once per agent and copied into each sandbox from here.
 *
 *   <workDir>/cache/<key>        the artifact's bytes (mode 0644)
 *   <workDir>/cache/<key>.json   what it is: uri (password masked), sha256, bytes, when
 *   <workDir>/cache/.tmp-*       downloads in progress (removed when the cache opens)
 *
 * The key is the SHA-256 of the uri and the expected sha256 (lowercase; empty
 * when the app gave none). With a sha256, an entry is the verified content,
 * so it never goes stale. Without one, the entry is whatever the URI served
 * the first time and is never revalidated: to roll out new content under the
 * same URI, set sha256 (or change the URI, or turn `cache` off).
 *
 * An entry appears atomically (downloaded to a temp file, verified, renamed),
 * so a present entry is complete. Concurrent requests for one key share one
 * download; a failed download leaves nothing and the next request tries
 * again. A shared download is not tied to the task that started it: killing
 * that task stops only its own wait, the others still get the file. There is
 * no eviction yet: operators may delete entries while the agent runs (a task
 * copying one at that moment fails and is replaced).
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@drover/common';
import { ArtifactProblem, maskedUri } from './fetch-error.js';

/** How an artifact was found in the cache. */
export type CacheOutcome =
  /** Already cached: nothing was downloaded. */
  | 'hit'
  /** This request downloaded it. */
  | 'miss'
  /** Another request was downloading it; this one waited for that download. */
  | 'joined';

/** A cached artifact. */
export interface CachedArtifact {
  /** Absolute path of the cached bytes (read only: copy, never modify). */
  readonly file: string;
  /** How it was found. */
  readonly outcome: CacheOutcome;
}

/** Writes the artifact into `tmpFile` (verifying it) and says how many bytes it wrote. */
export type CacheFill = (tmpFile: string) => Promise<{ bytes: number }>;

/** Per-agent cache of downloaded artifacts, keyed by uri and sha256 (see the top of this file). */
export class ArtifactCache {
  private readonly inflight = new Map<string, Promise<CacheOutcome>>();
  private opened: Promise<void> | undefined;

  constructor(
    /** The cache directory (created on first use). */
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** The cache key of an artifact. */
  static keyOf(uri: string, sha256: string): string {
    return createHash('sha256').update(`${uri}\n${sha256.toLowerCase()}`).digest('hex');
  }

  /**
   * The cached copy of `uri` + `sha256`, filled by `fill` when missing.
   * Concurrent calls for one key run one fill. `signal` stops this caller's
   * wait, not a fill other callers may share.
   */
  async get(uri: string, sha256: string, fill: CacheFill, signal?: AbortSignal): Promise<CachedArtifact> {
    await this.open();
    const key = ArtifactCache.keyOf(uri, sha256);
    const file = path.join(this.dir, key);
    // Checked and set with no await in between: one lookup per key at a time.
    const running = this.inflight.get(key);
    if (running !== undefined) {
      const found = await abortable(running, signal);
      return { file, outcome: found === 'hit' ? 'hit' : 'joined' };
    }
    const lookup = (async (): Promise<CacheOutcome> => {
      if (await exists(file)) return 'hit';
      await this.fill(key, file, uri, sha256, fill);
      return 'miss';
    })().finally(() => this.inflight.delete(key));
    lookup.catch(() => undefined); // every caller may have stopped waiting
    this.inflight.set(key, lookup);
    return { file, outcome: await abortable(lookup, signal) };
  }

  private async fill(key: string, file: string, uri: string, sha256: string, fill: CacheFill): Promise<void> {
    const tmp = path.join(this.dir, `.tmp-${key}-${randomUUID()}`);
    try {
      const { bytes } = await fill(tmp);
      const meta = { uri: maskedUri(uri), sha256: sha256.toLowerCase(), bytes, fetchedAt: new Date().toISOString() };
      await fs.writeFile(`${file}.json`, `${JSON.stringify(meta, null, 2)}\n`);
      await fs.rename(tmp, file);
      this.log.info({ uri: meta.uri, key, bytes }, 'artifact cached');
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /** Creates the directory and removes temp files an earlier agent left; once. */
  private open(): Promise<void> {
    this.opened ??= (async () => {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
      for (const name of await fs.readdir(this.dir)) {
        if (name.startsWith('.tmp-')) await fs.rm(path.join(this.dir, name), { force: true });
      }
    })();
    // A failure (say, a read-only disk) is retried by the next request.
    this.opened.catch(() => {
      this.opened = undefined;
    });
    return this.opened;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** `promise`, or a 'canceled' ArtifactProblem as soon as `signal` aborts (the promise itself goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new ArtifactProblem('canceled', 'canceled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ArtifactProblem('canceled', 'canceled'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
