/** What the server answers on one path. */
export type ArtifactRoute = 
/** 200 with this body, after an optional delay. */
{
    readonly kind: 'file';
    readonly body: Buffer;
    readonly delayMs?: number;
}
/** A bare status, for example 404. */
 | {
    readonly kind: 'status';
    readonly status: number;
}
/** A 302 to another path (or absolute URL). */
 | {
    readonly kind: 'redirect';
    readonly to: string;
}
/** 200 with headers and the first bytes of body, then silence until the server closes. */
 | {
    readonly kind: 'stall';
    readonly body: Buffer;
    readonly sendBytes: number;
};
/** A local artifact server for one test file. */
export declare class ArtifactServer {
    private readonly server;
    /** http://127.0.0.1:<port> */
    readonly origin: string;
    /** Requests received per path. */
    readonly hits: Map<string, number>;
    private readonly routes;
    private constructor();
    /** Starts a server on 127.0.0.1 and a free port. */
    static start(): Promise<ArtifactServer>;
    /** Serves `route` at `path` (replacing what was there). */
    serve(path: string, route: ArtifactRoute): void;
    /** The full URL of `path`. */
    url(path: string): string;
    /** Requests received for `path`. */
    hitsOf(path: string): number;
    /** Stops serving and drops open connections (stalled ones too). */
    close(): Promise<void>;
    private answer;
}
/** Lowercase hex SHA-256 of `data`. */
export declare function sha256Of(data: Buffer | string): string;
/** One tar entry; `body` only for files, `target` only for links. */
export interface TarEntrySpec {
    readonly name: string;
    readonly type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO';
    readonly body?: string;
    readonly mode?: number;
    readonly target?: string;
}
/** A tarball (gzipped unless `gzip` is false) holding exactly `entries`, names unchecked. */
export declare function tarball(entries: readonly TarEntrySpec[], gzip?: boolean): Buffer;
/** One zip entry: a file (default), a directory (name ends with "/") or a symlink (`target`). */
export interface ZipEntrySpec {
    readonly name: string;
    readonly body?: string;
    readonly mode?: number;
    readonly target?: string;
}
/** A zip file made on "Unix" holding exactly `entries` (with their modes), names unchecked. */
export declare function zipFile(entries: readonly ZipEntrySpec[]): Buffer;
//# sourceMappingURL=artifact-server.d.ts.map