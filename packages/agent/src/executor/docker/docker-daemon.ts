/**
 * The agent's connection to its Docker daemon: a dockerode client on a unix
 * socket, a ping with a deadline (the "docker" capability and every launch
 * ask it), and the two facts callers need from a failed Engine API call:
 * whether the daemon was there at all, and what it said.
 */
import type { Logger } from '@drover/common';
import Dockerode from 'dockerode';

/** Where the Docker daemon listens unless told otherwise. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The capability an agent reports when its Docker daemon answers. */
export const DOCKER_CAPABILITY = 'docker';

/** A Docker daemon reached through a unix socket. */
export class DockerDaemon {
  /** The Engine API client. */
  readonly api: Dockerode;

  constructor(
    /** The daemon's unix socket. */
    readonly socketPath: string = DEFAULT_DOCKER_SOCKET,
  ) {
    this.api = new Dockerode({ socketPath });
  }

  /** True when the daemon answers a ping within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    try {
      // dockerode's ping takes an abortSignal like every call; its types do not say so.
      const api = this.api as unknown as { ping(options: { abortSignal: AbortSignal }): Promise<unknown> };
      await api.ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch {
      return false;
    }
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
