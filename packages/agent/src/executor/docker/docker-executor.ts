/**
 * Runs tasks as Docker containers, through the daemon's Engine API.
 *
 * - Launch: the spec becomes a create request (container-config.ts, which
 *   also applies the agent's policy on privileged containers and host
 *   volumes); the image is pulled when missing or when forcePullImage says
 *   so; the container is created, started and inspected for its pid. A spec
 *   the agent refuses fails with LAUNCH_FAILED; a daemon that is missing or
 *   says no (pull, create, start) fails the launch with CONTAINER_ERROR and
 *   the daemon's own words. Nothing is left behind by a failed launch.
 * - Output: a ContainerLogCopier copies the container's stdout and stderr
 *   into the sandbox files while it runs, and again after an agent restart,
 *   from where it stopped.
 * - End: a long-polled `wait`, then an inspect for the exit code and the
 *   OOMKilled flag (an OOM kill reports `oom`, which the task manager turns
 *   into MEMORY_LIMIT). Docker knows only exit codes: a container whose
 *   command died of a signal reports 128 + its number, as docker-init (its
 *   PID 1) exits with, and so does a kill. wait resolves once the output is
 *   copied too, so a final status carries the last words of stderr.
 * - Kill: `docker stop` with the grace period (the image's stop signal, then
 *   SIGKILL from the daemon, which keeps its word even if the agent dies),
 *   plus the agent's own SIGKILL at the exact deadline, since the daemon
 *   counts whole seconds and a later kill may shorten the grace.
 * - The stopped container is the durable record of the exit code: it stays
 *   until remove() (the task manager calls it once it recorded the end),
 *   and the sandbox keeps the logs after that.
 * - Recover: containers are found by id, else by their drover.task-id label.
 *   Running ones are re-adopted; stopped ones too, since their exit code is
 *   still there (capability exitStatusAfterRecover): wait resolves with it at
 *   once. While the daemon does not answer, handles are adopted and watched
 *   until it does. Containers labelled with this agent's id that no handle
 *   names are removed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code, DroverError, NotFoundError, type Logger } from '@drover/common';
import type Dockerode from 'dockerode';
import { sandboxFor, type Sandbox } from '../../sandbox/sandbox.js';
import {
  type Executor,
  type ExecutorCapabilities,
  type LaunchRequest,
  LaunchError,
  TASK_COMMAND_OUTPUT_BYTES,
  type TaskCommandRunner,
  type TaskExit,
  type TaskHandle,
} from '../executor.js';
import { killWithDeadline } from '../kill-deadline.js';
import { SingleFlight } from '../single-flight.js';
import { ContainerConfigProblems, type ContainerPolicy, containerConfig, LABELS } from './container-config.js';
import { execInContainer } from './container-exec.js';
import { ContainerLogCopier } from './container-log-copier.js';
import { daemonMessage, DockerDaemon, isUnreachable, statusCodeOf } from './docker-daemon.js';

/** How a DockerExecutor behaves. */
export interface DockerExecutorOptions {
  /** Logger (a child named "docker-executor" is taken). */
  logger: Logger;
  /** The daemon; default the one at /var/run/docker.sock. */
  daemon?: DockerDaemon;
  /** What containers may do to the host; default neither privileged nor host volumes. */
  policy?: Partial<ContainerPolicy>;
  /** This agent's id, for the drover.agent-id label ('' before it registered). */
  agentId?: () => string | undefined;
  /** Delay between attempts while the daemon does not answer; default 1000 ms. */
  retryDelayMs?: number;
  /** How long wait waits for the rest of the output once the container stopped; default 5000 ms. */
  logDrainTimeoutMs?: number;
}

interface Watched {
  readonly handle: TaskHandle;
  readonly container: Dockerode.Container;
  readonly exit: Promise<TaskExit>;
  readonly resolve: (exit: TaskExit) => void;
  /** Aborts the requests made for this task (wait, inspect, stop) on close. */
  readonly abort: AbortController;
  readonly logs: ContainerLogCopier | undefined;
  ended: boolean;
  killDeadline?: number;
  killTimer?: NodeJS.Timeout;
}

/** Runs tasks as Docker containers (see the top of the file). */
export class DockerExecutor implements Executor {
  /** Recorded in handles. */
  readonly name = 'docker';
  /** Containers survive the agent, and so does their exit code. */
  readonly capabilities: ExecutorCapabilities = { recover: true, exitStatusAfterRecover: true };
  /** The daemon this executor talks to. */
  readonly daemon: DockerDaemon;

  private readonly log: Logger;
  private readonly policy: ContainerPolicy;
  private readonly agentId: () => string | undefined;
  private readonly retryDelayMs: number;
  private readonly logDrainTimeoutMs: number;
  private readonly tasks = new Map<string, Watched>();
  private readonly launching = new SingleFlight<TaskHandle>();
  private closed = false;

  constructor(options: DockerExecutorOptions) {
    this.log = options.logger.child({ component: 'docker-executor' });
    this.daemon = options.daemon ?? new DockerDaemon();
    this.policy = { allowPrivileged: false, allowHostVolumes: false, ...options.policy };
    this.agentId = options.agentId ?? (() => undefined);
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.logDrainTimeoutMs = options.logDrainTimeoutMs ?? 5000;
  }

  launch(request: LaunchRequest): Promise<TaskHandle> {
    const id = request.spec.taskId;
    const known = this.tasks.get(id);
    if (known !== undefined) return Promise.resolve(known.handle);
    return this.launching.run(id, () => this.start(request));
  }

  wait(taskId: string): Promise<TaskExit> {
    const w = this.tasks.get(taskId);
    if (w === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return w.exit;
  }

  kill(taskId: string, gracePeriodMs: number): Promise<TaskExit> {
    const w = this.tasks.get(taskId);
    if (w === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return killWithDeadline(w, gracePeriodMs, {
      terminate: (grace) => {
        this.log.info({ taskId, container: w.container.id, gracePeriodMs: grace }, 'stopping container');
        w.container.stop({ t: Math.ceil(grace / 1000), abortSignal: w.abort.signal }).catch((e: unknown) => this.ignoreEnded(w, e, 'stop'));
      },
      force: () => {
        w.container.kill({ signal: 'SIGKILL', abortSignal: w.abort.signal }).catch((e: unknown) => this.ignoreEnded(w, e, 'SIGKILL'));
      },
      watching: !this.closed,
    });
  }

  async recover(handles: readonly TaskHandle[]): Promise<Set<string>> {
    const adopted = new Set<string>();
    for (const handle of handles) {
      if (handle.executor !== this.name) continue;
      if (this.tasks.has(handle.taskId)) {
        adopted.add(handle.taskId);
        continue;
      }
      const found = await this.find(handle);
      if (found === 'unreachable') {
        const id = stringDetail(handle, 'containerId');
        if (id === undefined) continue;
        this.log.warn({ taskId: handle.taskId, socket: this.daemon.socketPath }, 'Docker daemon not answering: adopting the container blindly');
        this.adopt(handle, this.daemon.api.getContainer(id));
      } else if (found === undefined) {
        continue;
      } else {
        this.adopt(handle, this.daemon.api.getContainer(found.Id));
        this.log.info({ taskId: handle.taskId, container: found.Id, running: found.State.Running }, 'container re-adopted');
      }
      adopted.add(handle.taskId);
    }
    await this.removeOrphans(new Set(handles.filter((h) => h.executor === this.name).map((h) => h.taskId)));
    return adopted;
  }

  async remove(handle: TaskHandle): Promise<void> {
    if (handle.executor !== this.name) return;
    const w = this.tasks.get(handle.taskId);
    if (w !== undefined && !w.ended) {
      throw new DroverError(`task ${handle.taskId} has not ended: kill it first`, Code.FailedPrecondition);
    }
    this.tasks.delete(handle.taskId);
    const ids = new Set<string>();
    const known = w?.container.id ?? stringDetail(handle, 'containerId');
    if (known !== undefined) ids.add(known);
    else for (const c of await this.labelled(handle.taskId)) ids.add(c.Id);
    for (const id of ids) {
      try {
        // Forced: the task manager recorded the end, so whatever still runs there is an orphan.
        await this.daemon.api.getContainer(id).remove({ force: true });
        this.log.info({ taskId: handle.taskId, container: id }, 'container removed');
      } catch (e) {
        if (statusCodeOf(e) === 404) continue;
        throw new DroverError(`cannot remove container ${id}: ${daemonMessage(e)}`, Code.Unavailable, { cause: e });
      }
    }
  }

  commandRunner(taskId: string): TaskCommandRunner | undefined {
    if (!this.tasks.has(taskId)) return undefined;
    return (command, signal) => {
      const w = this.tasks.get(taskId);
      if (w === undefined || w.ended) return Promise.reject(new DroverError(`task ${taskId} is not running`, Code.FailedPrecondition));
      return execInContainer(w.container, command, signal, TASK_COMMAND_OUTPUT_BYTES).catch((e: unknown) => {
        if (signal.aborted) throw e;
        throw new DroverError(`docker exec: ${daemonMessage(e)}`, Code.Unavailable, { cause: e });
      });
    };
  }

  close(): void {
    this.closed = true;
    for (const w of this.tasks.values()) {
      clearTimeout(w.killTimer);
      w.abort.abort();
      w.logs?.stop();
    }
  }

  private async start(request: LaunchRequest): Promise<TaskHandle> {
    const { spec, sandbox } = request;
    const taskId = spec.taskId;
    const config = containerConfig(spec, {
      sandbox,
      host: request.host,
      agentId: this.agentId() ?? '',
      policy: this.policy,
    });
    if (config instanceof ContainerConfigProblems) throw new LaunchError(taskId, config.message);
    const containerError = (what: string, e: unknown) =>
      new LaunchError(taskId, isUnreachable(e) ? this.daemon.unavailableMessage : `${what}: ${daemonMessage(e)}`, e, 'CONTAINER_ERROR');

    if (!(await this.daemon.ping())) throw new LaunchError(taskId, this.daemon.unavailableMessage, undefined, 'CONTAINER_ERROR');
    // The output files exist from the launch on, as a process task's do.
    for (const file of [sandbox.stdoutPath, sandbox.stderrPath]) {
      try {
        await fs.appendFile(file, '', { mode: 0o644 });
      } catch (e) {
        throw new LaunchError(taskId, `cannot open ${file}: ${DroverError.from(e).rawMessage}`, e);
      }
    }
    for (const dir of config.sandboxDirs) {
      try {
        await fs.mkdir(dir, { recursive: true });
      } catch (e) {
        throw new LaunchError(taskId, `cannot create volume directory ${dir}: ${DroverError.from(e).rawMessage}`, e);
      }
    }
    const image = config.create.Image;
    try {
      await this.ensureImage(image, spec.container?.docker?.forcePullImage === true);
    } catch (e) {
      throw containerError(`cannot pull image ${image}`, e);
    }
    let container: Dockerode.Container;
    try {
      container = await this.daemon.api.createContainer(config.create);
    } catch (e) {
      throw containerError('cannot create the container', e);
    }
    try {
      await container.start();
    } catch (e) {
      await container.remove({ force: true }).catch(() => undefined);
      throw containerError('cannot start the container', e);
    }
    let pid = 0;
    try {
      pid = (await container.inspect()).State.Pid;
    } catch (e) {
      this.log.warn({ taskId, container: container.id, err: e }, 'cannot inspect the new container');
    }
    const handle: TaskHandle = {
      taskId,
      executor: this.name,
      pid,
      details: { containerId: container.id, sandboxDir: sandbox.dir },
    };
    this.adopt(handle, container, sandbox);
    this.log.info({ taskId, container: container.id, image, pid }, 'container started');
    return handle;
  }

  /** Pulls `image` when forced or missing. */
  private async ensureImage(image: string, force: boolean): Promise<void> {
    if (!force) {
      try {
        await this.daemon.api.getImage(image).inspect();
        return;
      } catch (e) {
        if (statusCodeOf(e) !== 404) throw e;
      }
    }
    this.log.info({ image }, 'pulling image');
    const stream = (await this.daemon.api.pull(image)) as NodeJS.ReadableStream;
    const output = await new Promise<unknown[]>((resolve, reject) => {
      this.daemon.api.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out)));
    });
    const failed = output.find((o): o is { error: string } => typeof (o as { error?: unknown }).error === 'string');
    if (failed !== undefined) throw new DroverError(failed.error, Code.Unavailable);
  }

  /** Starts watching a container: its output into the sandbox, its end into `exit`. */
  private adopt(handle: TaskHandle, container: Dockerode.Container, sandbox?: Sandbox): void {
    let resolve!: (exit: TaskExit) => void;
    const exit = new Promise<TaskExit>((r) => {
      resolve = r;
    });
    const box = sandbox ?? sandboxOf(handle);
    const logs = box === undefined ? undefined : new ContainerLogCopier({ container, sandbox: box, logger: this.log });
    const w: Watched = { handle, container, exit, resolve, abort: new AbortController(), logs, ended: false };
    this.tasks.set(handle.taskId, w);
    void this.watch(w);
  }

  /** Waits for the container to stop (across daemon restarts), then ends the task. */
  private async watch(w: Watched): Promise<void> {
    const { taskId } = w.handle;
    let exit: TaskExit | undefined;
    let failures = 0;
    while (exit === undefined) {
      if (this.closed) return;
      try {
        await w.container.wait({ abortSignal: w.abort.signal });
        const info = await w.container.inspect({ abortSignal: w.abort.signal });
        if (!info.State.Running) exit = exitOf(info.State);
      } catch (e) {
        if (this.closed) return;
        if (statusCodeOf(e) === 404) {
          this.log.warn({ taskId, container: w.container.id }, 'container disappeared: exit status unknown');
          exit = { kind: 'unknown' };
        } else {
          // Said once per outage, not once per attempt.
          if (failures++ === 0) {
            this.log.warn({ taskId, container: w.container.id, err: daemonMessage(e) }, 'cannot wait for the container; trying again until the daemon answers');
          }
          await new Promise((r) => setTimeout(r, this.retryDelayMs));
        }
      }
    }
    if (w.logs !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([w.logs.done, new Promise((r) => (timer = setTimeout(r, this.logDrainTimeoutMs)))]);
      clearTimeout(timer);
      if (this.closed) return;
      w.logs.stop();
    }
    if (this.closed) return;
    w.ended = true;
    clearTimeout(w.killTimer);
    this.log.info({ taskId, container: w.container.id, exit }, 'container ended');
    w.resolve(exit);
  }

  /** A stop or kill that failed because the container already stopped is fine; anything else is logged. */
  private ignoreEnded(w: Watched, e: unknown, what: string): void {
    const status = statusCodeOf(e);
    if (this.closed || status === 304 || status === 404 || status === 409) return;
    this.log.error({ taskId: w.handle.taskId, container: w.container.id, err: daemonMessage(e) }, `container ${what} failed`);
  }

  /** The task's container: by id, else by label; 'unreachable' when the daemon does not answer (or fails). */
  private async find(handle: TaskHandle): Promise<Dockerode.ContainerInspectInfo | 'unreachable' | undefined> {
    try {
      const known = stringDetail(handle, 'containerId');
      const ids = known === undefined ? [] : [known];
      for (const c of await this.labelled(handle.taskId)) if (c.Id !== known) ids.push(c.Id);
      for (const id of ids) {
        try {
          const info = await this.daemon.api.getContainer(id).inspect();
          if (info.Config.Labels?.[LABELS.taskId] === handle.taskId) return info;
        } catch (e) {
          if (statusCodeOf(e) !== 404) throw e;
        }
      }
      return undefined;
    } catch (e) {
      // Not knowing is not "gone": the caller keeps watching until the daemon answers.
      if (!isUnreachable(e)) this.log.warn({ taskId: handle.taskId, err: daemonMessage(e) }, 'cannot look for the container');
      return 'unreachable';
    }
  }

  /**
   * Removes this agent's containers that no checkpoint knows (as Mesos'
   * Docker containerizer kills unknown containers on recovery): a launch
   * interrupted after `docker create`, or a work dir lost with its
   * checkpoints. Only containers labelled with this agent's id are touched,
   * so agents sharing a daemon leave each other alone; before the agent has
   * an id (its first start) nothing can be its own.
   */
  private async removeOrphans(known: ReadonlySet<string>): Promise<void> {
    const agentId = this.agentId();
    if (agentId === undefined || agentId === '') return;
    let mine: Dockerode.ContainerInfo[];
    try {
      // Without a socket the answer is known without loading the Docker client.
      if (!(await this.daemon.socketExists())) throw new Error(this.daemon.unavailableMessage);
      mine = await this.daemon.api.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${agentId}`] } });
    } catch (e) {
      this.log.warn({ err: daemonMessage(e) }, 'cannot look for containers left by an earlier run');
      return;
    }
    for (const c of mine) {
      const taskId = c.Labels[LABELS.taskId] ?? '';
      if (known.has(taskId) || this.tasks.has(taskId)) continue;
      this.log.warn({ taskId, container: c.Id, state: c.State }, 'removing a container of this agent that no checkpoint knows');
      await this.remove({ taskId, executor: this.name, pid: 0, details: { containerId: c.Id } }).catch((e: unknown) => {
        this.log.error({ taskId, container: c.Id, err: e }, 'cannot remove an orphaned container');
      });
    }
  }

  /** Containers labelled with this task id, running or not. */
  private async labelled(taskId: string): Promise<Dockerode.ContainerInfo[]> {
    return this.daemon.api.listContainers({ all: true, filters: { label: [`${LABELS.taskId}=${taskId}`] } });
  }
}

/** The task's end as Docker reports it. */
function exitOf(state: Dockerode.ContainerInspectInfo['State']): TaskExit {
  return state.OOMKilled ? { kind: 'exited', exitCode: state.ExitCode, oom: true } : { kind: 'exited', exitCode: state.ExitCode };
}

function stringDetail(handle: TaskHandle, key: string): string | undefined {
  const value = handle.details[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The sandbox a handle was launched with (its directory is in the details). */
function sandboxOf(handle: TaskHandle): Sandbox | undefined {
  const dir = stringDetail(handle, 'sandboxDir');
  if (dir === undefined) return undefined;
  try {
    return sandboxFor(path.dirname(dir), handle.taskId);
  } catch {
    return undefined;
  }
}
