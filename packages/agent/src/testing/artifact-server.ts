/**
 * Test fixture for fetch tests: an HTTP server on 127.0.0.1 and a free port
 * that serves generated artifacts by path and counts requests per path, plus
 * builders for tarballs and zip files with any entry (unsafe ones included,
 * which real archivers refuse to make). Not exported from the package index.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { Header } from 'tar';

/** What the server answers on one path. */
export type ArtifactRoute =
  /** 200 with this body, after an optional delay. */
  | { readonly kind: 'file'; readonly body: Buffer; readonly delayMs?: number }
  /** A bare status, for example 404. */
  | { readonly kind: 'status'; readonly status: number }
  /** A 302 to another path (or absolute URL). */
  | { readonly kind: 'redirect'; readonly to: string }
  /** 200 with headers and the first bytes of body, then silence until the server closes. */
  | { readonly kind: 'stall'; readonly body: Buffer; readonly sendBytes: number };

/** A local artifact server for one test file. */
export class ArtifactServer {
  /** Requests received per path. */
  readonly hits = new Map<string, number>();
  private readonly routes = new Map<string, ArtifactRoute>();

  private constructor(
    private readonly server: http.Server,
    /** http://127.0.0.1:<port> */
    readonly origin: string,
  ) {}

  /** Starts a server on 127.0.0.1 and a free port. */
  static async start(): Promise<ArtifactServer> {
    let self: ArtifactServer | undefined;
    const server = http.createServer((req, res) => self?.answer(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new ArtifactServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** Serves `route` at `path` (replacing what was there). */
  serve(path: string, route: ArtifactRoute): void {
    this.routes.set(path, route);
  }

  /** The full URL of `path`. */
  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Requests received for `path`. */
  hitsOf(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  /** Stops serving and drops open connections (stalled ones too). */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    this.hits.set(path, this.hitsOf(path) + 1);
    const route = this.routes.get(path);
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    switch (route.kind) {
      case 'file': {
        const send = () => res.writeHead(200, { 'content-length': route.body.length }).end(route.body);
        if (route.delayMs === undefined) send();
        else setTimeout(send, route.delayMs);
        return;
      }
      case 'status':
        res.writeHead(route.status).end();
        return;
      case 'redirect':
        res.writeHead(302, { location: route.to }).end();
        return;
      case 'stall':
        res.writeHead(200, { 'content-length': route.body.length });
        res.write(route.body.subarray(0, route.sendBytes));
        return;
    }
  }
}

/** Lowercase hex SHA-256 of `data`. */
export function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One tar entry; `body` only for files, `target` only for links. */
export interface TarEntrySpec {
  readonly name: string;
  readonly type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO';
  readonly body?: string;
  readonly mode?: number;
  readonly target?: string;
}

/** A tarball (gzipped unless `gzip` is false) holding exactly `entries`, names unchecked. */
export function tarball(entries: readonly TarEntrySpec[], gzip = true): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const header = new Header({
      path: entry.name,
      type: entry.type,
      mode: entry.mode ?? (entry.type === 'Directory' ? 0o755 : 0o644),
      size: entry.type === 'File' ? body.length : 0,
      linkpath: entry.target ?? '',
      uid: 1234,
      gid: 1234,
      mtime: new Date('2025-01-01T00:00:00Z'),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (entry.type === 'File' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return gzip ? gzipSync(tar) : tar;
}

/** One zip entry: a file (default), a directory (name ends with "/") or a symlink (`target`). */
export interface ZipEntrySpec {
  readonly name: string;
  readonly body?: string;
  readonly mode?: number;
  readonly target?: string;
}

/** A zip file made on "Unix" holding exactly `entries` (with their modes), names unchecked. */
export function zipFile(entries: readonly ZipEntrySpec[]): Buffer {
  const files: Record<string, [Uint8Array, { os: number; attrs: number }]> = {};
  for (const entry of entries) {
    const isDir = entry.name.endsWith('/');
    const type = entry.target !== undefined ? 0o120000 : isDir ? 0o040000 : 0o100000;
    const mode = entry.mode ?? (isDir || entry.target !== undefined ? 0o755 : 0o644);
    const data = Buffer.from(entry.target ?? entry.body ?? '');
    files[entry.name] = [data, { os: 3, attrs: ((type | mode) << 16) >>> 0 }];
  }
  return Buffer.from(zipSync(files));
}
