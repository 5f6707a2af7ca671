/**
 * The agent's connection to its Docker daemon: a dockerode client on a unix
 * socket, a ping with a deadline (the "docker" capability and every launch
 * ask it), and the two facts callers need from a failed Engine API call:
 * whether the daemon was there at all, and what it said.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { Logger } from '@drover/common';
import type Dockerode from 'dockerode';

/**
 * dockerode and its dependencies take about 25 MiB and 130 ms to load, which
 * an agent on a machine without Docker would carry for nothing: it is loaded
 * (synchronously, it is CommonJS) on the first call that needs the daemon.
 * The ping does not need it: the capability check pings at start and on
 * every Register, and an agent that runs no container would otherwise carry
 * dockerode (8 MiB of its idle RSS, measured) just for knowing Docker is there.
 */
const requireCjs = createRequire(import.meta.url);

/** Where the Docker daemon listens unless told otherwise. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The capability an agent reports when its Docker daemon answers. */
export const DOCKER_CAPABILITY = 'docker';

/** A Docker daemon reached through a unix socket. */
export class DockerDaemon {
  private client: Dockerode | undefined;

  constructor(
    /** The daemon's unix socket. */
    readonly socketPath: string = DEFAULT_DOCKER_SOCKET,
  ) {}

  /** The Engine API client (dockerode is loaded on first use, see above). */
  get api(): Dockerode {
    if (this.client === undefined) {
      const Client = requireCjs('dockerode') as typeof Dockerode;
      this.client = new Client({ socketPath: this.socketPath });
    }
    return this.client;
  }

  /** True when something is at the socket path (a daemon may still not answer there). */
  async socketExists(): Promise<boolean> {
    return fs.stat(this.socketPath).then(
      () => true,
      () => false,
    );
  }

  /** True when the daemon answers a ping (`GET /_ping`, 200) within `timeoutMs`; never loads dockerode. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    // No socket, no daemon: answered without opening a connection.
    if (!(await this.socketExists())) return false;
    return new Promise<boolean>((resolve) => {
      const request = http.get({ socketPath: this.socketPath, path: '/_ping', agent: false, signal: AbortSignal.timeout(timeoutMs) }, (response) => {
        // The body ("OK") says nothing the status does not; it is drained so the socket closes.
        response.resume();
        // 'close' also comes when the deadline cut the answer short: then it is incomplete.
        response.on('close', () => resolve(response.complete && response.statusCode === 200));
        response.on('error', () => resolve(false));
      });
      request.on('error', () => resolve(false));
    });
  }

  /** The one line a launch fails with when nothing answers. */
  get unavailableMessage(): string {
    return `no Docker daemon at ${this.socketPath}`;
  }
}

/** The HTTP status of a failed Engine API call; undefined when no answer came. */
export function statusCodeOf(e: unknown): number | undefined {
  const code = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** True when the call failed because nothing answered on the socket (not because the daemon said no). */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return statusCodeOf(e) === undefined && (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE');
}

/** What the daemon said about a failed call ("No such image: x"), else the error's own message. */
export function daemonMessage(e: unknown): string {
  const json = (e as { json?: unknown } | null)?.json;
  if (typeof json === 'object' && json !== null && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message.trim();
  }
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (e instanceof Error) return e.message.trim();
  return String(e);
}

/**
 * The "docker" capability while `daemon` answers, as a capability source;
 * logs when the daemon comes or goes (and, the first time, which it is).
 */
export function dockerCapability(daemon: DockerDaemon, logger: Logger): () => Promise<string[]> {
  let last: boolean | undefined;
  return async () => {
    const up = await daemon.ping();
    if (up !== last) {
      if (up) logger.info({ socket: daemon.socketPath }, 'Docker daemon answers: reporting the docker capability');
      else logger.warn({ socket: daemon.socketPath }, `${daemon.unavailableMessage}: container tasks will fail`);
      last = up;
    }
    return up ? [DOCKER_CAPABILITY] : [];
  };
}
