/**
 * Test fixture for fetch tests: an HTTP server on 127.0.0.1 and a free port
 * that serves generated artifacts by path and counts requests per path, plus
 * builders for tarballs and zip files with any entry (unsafe ones included,
 * which real archivers refuse to make). Not exported from the package index.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { Header } from 'tar';
/** A local artifact server for one test file. */
export class ArtifactServer {
    server;
    origin;
    /** Requests received per path. */
    hits = new Map();
    routes = new Map();
    constructor(server, 
    /** http://127.0.0.1:<port> */
    origin) {
        this.server = server;
        this.origin = origin;
    }
    /** Starts a server on 127.0.0.1 and a free port. */
    static async start() {
        let self;
        const server = http.createServer((req, res) => self?.answer(req, res));
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        self = new ArtifactServer(server, `http://127.0.0.1:${server.address().port}`);
        return self;
    }
    /** Serves `route` at `path` (replacing what was there). */
    serve(path, route) {
        this.routes.set(path, route);
    }
    /** The full URL of `path`. */
    url(path) {
        return `${this.origin}${path}`;
    }
    /** Requests received for `path`. */
    hitsOf(path) {
        return this.hits.get(path) ?? 0;
    }
    /** Stops serving and drops open connections (stalled ones too). */
    async close() {
        this.server.closeAllConnections();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
    answer(req, res) {
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
                if (route.delayMs === undefined)
                    send();
                else
                    setTimeout(send, route.delayMs);
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
export function sha256Of(data) {
    return createHash('sha256').update(data).digest('hex');
}
/** A tarball (gzipped unless `gzip` is false) holding exactly `entries`, names unchecked. */
export function tarball(entries, gzip = true) {
    const blocks = [];
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
/** A zip file made on "Unix" holding exactly `entries` (with their modes), names unchecked. */
export function zipFile(entries) {
    const files = {};
    for (const entry of entries) {
        const isDir = entry.name.endsWith('/');
        const type = entry.target !== undefined ? 0o120000 : isDir ? 0o040000 : 0o100000;
        const mode = entry.mode ?? (isDir || entry.target !== undefined ? 0o755 : 0o644);
        const data = Buffer.from(entry.target ?? entry.body ?? '');
        files[entry.name] = [data, { os: 3, attrs: ((type | mode) << 16) >>> 0 }];
    }
    return Buffer.from(zipSync(files));
}
//# sourceMappingURL=artifact-server.js.map