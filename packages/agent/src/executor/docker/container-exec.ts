/**
 * `docker exec` for COMMAND health checks: `/bin/sh -c <command>` inside the
 * task's running container, in its namespaces, with the container's own
 * environment, user and working directory, as Marathon runs such checks for
 * Docker tasks. stderr is merged into stdout inside the container, by an
 * outer shell that then execs the real one, as for checks on the host: the
 * daemon reads the two through separate pipes, and frames of different
 * streams can arrive in either order.
 *
 * The Engine API cannot kill an exec: giving up (timeout, task stopping)
 * closes the stream, and a command that hangs inside the container runs on
 * until it ends or the container does. Kubernetes' exec probes have the
 * same limit; a check command that can hang should carry its own timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import type { TaskCommandResult } from '../executor.js';
import { FrameDecoder } from './container-log-copier.js';

/** Runs `command` in `container`; rejects when the daemon refuses (container not running) or `signal` aborts. */
export async function execInContainer(container: Dockerode.Container, command: string, signal: AbortSignal, keepBytes: number): Promise<TaskCommandResult> {
  const exec = await container.exec({ Cmd: ['/bin/sh', '-c', 'exec 2>&1; exec /bin/sh -c "$1"', 'drover-health-check', command], AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, abortSignal: signal });
  const stream = (await exec.start({ hijack: true, stdin: false, abortSignal: signal })) as NodeJS.ReadableStream & { destroy(): void };
  const output = await new Promise<Buffer>((resolve, reject) => {
    const decoder = new FrameDecoder();
    const kept: Buffer[] = [];
    let size = 0;
    const onAbort = (): void => {
      stream.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (size >= keepBytes) break;
        kept.push(frame.payload);
        size += frame.payload.length;
      }
    });
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(kept).subarray(0, keepBytes));
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
  // The stream ends when the command does; the daemon may record the exit
  // code a moment later, so a still-running exec is asked again, briefly.
  for (let attempt = 0; ; attempt += 1) {
    const info = await exec.inspect({ abortSignal: signal });
    if (!info.Running || attempt >= INSPECT_ATTEMPTS) return { exitCode: info.ExitCode ?? undefined, output: output.toString('utf8') };
    await sleep(INSPECT_RETRY_MS, undefined, { signal });
  }
}

/** How often, and how far apart, an exec whose stream ended is inspected for its exit code. */
const INSPECT_ATTEMPTS = 20;
const INSPECT_RETRY_MS = 25;
