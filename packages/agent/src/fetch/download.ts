/**
 * Streams one http(s) or file:// source into a new local file, hashing
 * (SHA-256) and counting as the bytes go by, so nothing is held in memory and
 * the size does not matter.
 *
 * Timeouts are about silence, not duration: the download fails when no
 * response headers or no data arrived for `idleTimeoutMs`, however long a
 * large artifact takes in total. Redirects are followed (node's fetch, at
 * most 20). `Accept-Encoding: identity` asks the server not to compress:
 * fetch would otherwise inflate a `Content-Encoding: gzip` .tar.gz and the
 * checksum would be of the wrong bytes. User info in an http(s) URI becomes a
 * Basic Authorization header, which fetch drops on cross-origin redirects.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { DROVER_VERSION } from '@drover/common';
import { linkSignals } from './abort-link.js';
import { ArtifactProblem } from './fetch-error.js';

/** How to download. */
export interface DownloadOptions {
  /** Aborts the download (the task was killed, the agent is stopping). */
  signal?: AbortSignal;
  /** Fail when no data arrived for this long. */
  idleTimeoutMs: number;
  /** Called with the bytes so far (and the announced total) at most every progressIntervalMs. */
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Interval of onProgress calls; default 5000 ms. */
  progressIntervalMs?: number;
}

/** What a finished download wrote. */
export interface Downloaded {
  /** Bytes written. */
  readonly bytes: number;
  /** SHA-256 of those bytes, lowercase hex. */
  readonly sha256: string;
}

/** The schemes a FetchUri may use. */
export const FETCH_SCHEMES = ['http:', 'https:', 'file:'] as const;

/** Streams `source` into `file` (which must not exist); on failure nothing is left at `file`. Throws ArtifactProblem. */
export async function download(source: URL, file: string, options: DownloadOptions): Promise<Downloaded> {
  const idle = new AbortController();
  const linked = linkSignals(options.signal, idle.signal);
  const signal = linked.signal;
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), options.idleTimeoutMs);
  };
  touch();
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    // The file first, the source second, and nothing awaited between the
    // source's stream and the pipeline that listens to it: an abort (a kill,
    // the idle timeout) errors that stream at once, and an error nobody
    // listens to yet would be an uncaught exception in the agent.
    const out = await writeStream(file);
    const { body, total } = await open(source, signal).catch((e: unknown) => {
      out.destroy();
      throw e;
    });
    const every = options.progressIntervalMs ?? 5000;
    let lastProgress = Date.now();
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        touch();
        if (options.onProgress !== undefined && Date.now() - lastProgress >= every) {
          lastProgress = Date.now();
          options.onProgress(bytes, total);
        }
        callback(null, chunk);
      },
    });
    await pipeline(body, meter, out, { signal });
    return { bytes, sha256: hash.digest('hex') };
  } catch (e) {
    await fs.rm(file, { force: true }).catch(() => undefined);
    if (e instanceof ArtifactProblem) throw e;
    if (idle.signal.aborted) {
      throw new ArtifactProblem('timeout', `timed out: no data for ${options.idleTimeoutMs / 1000}s (${bytes} bytes received)`, e);
    }
    if (options.signal?.aborted === true) throw new ArtifactProblem('canceled', 'canceled', e);
    throw new ArtifactProblem(source.protocol === 'file:' ? 'io' : 'network', causeMessage(e), e);
  } finally {
    clearTimeout(timer);
    linked.unlink();
  }
}

interface Opened {
  readonly body: Readable;
  /** Content-Length, when the server said it. */
  readonly total: number | undefined;
}

async function open(source: URL, signal: AbortSignal): Promise<Opened> {
  if (source.protocol === 'file:') {
    let file: string;
    try {
      file = fileURLToPath(source);
    } catch (e) {
      throw new ArtifactProblem('invalid', causeMessage(e), e);
    }
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new ArtifactProblem('io', `${file} is not a regular file`);
    return { body: createReadStream(file), total: stat.size };
  }
  if (source.protocol !== 'http:' && source.protocol !== 'https:') {
    throw new ArtifactProblem('invalid', `unsupported scheme ${source.protocol} (use http, https or file)`);
  }
  const target = new URL(source.href);
  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': `drover-agent/${DROVER_VERSION}` };
  if (target.username !== '' || target.password !== '') {
    const user = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  const response = await fetch(target, { headers, redirect: 'follow', signal });
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new ArtifactProblem('http-status', `HTTP ${response.status}`);
  }
  const length = Number(response.headers.get('content-length') ?? NaN);
  const body =
    response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  return { body, total: Number.isFinite(length) ? length : undefined };
}

async function writeStream(file: string): Promise<NodeJS.WritableStream & { destroy(): void }> {
  const handle = await fs.open(file, 'wx', 0o644);
  return handle.createWriteStream();
}

/** The most telling message of an error: fetch wraps the socket error ("connect ECONNREFUSED ...") as its cause. */
function causeMessage(e: unknown): string {
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
