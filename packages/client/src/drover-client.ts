/**
 * The typed client of a Drover master's gRPC API (apps, deployments, tasks,
 * agents, cluster, events). All service stubs share one channel, so a
 * client holds a single HTTP/2 connection however many services it calls;
 * every unary method has a deadline and everything rejects only with
 * DroverError (ValidationError when the master refused a spec, with the
 * master's field paths; Code.FailedPrecondition when a change met an app
 * whose deployment is still running and was not forced).
 *
 * The streams (runTask with wait, watchEvents, taskLogs, readTaskFile) have
 * no deadline: they last as long as the task, the watcher or the file. Each
 * takes an AbortSignal that cancels the call at once.
 */
import { Code, DroverError, normalizeAppId } from '@drover/common';
import {
  type Agent,
  AgentsClient,
  type App,
  AppsClient,
  type AppSpec,
  type AppVersion,
  ClusterClient,
  type Deployment,
  DeploymentsClient,
  type Event,
  EventsClient,
  type FileEntry,
  type InfoResponse,
  RunTaskRequest,
  type RunTaskResponse,
  ReadTaskFileRequest,
  type Task,
  TaskLogsRequest,
  TasksClient,
  type WaitingInstances,
  WatchEventsRequest,
} from '@drover/proto';
import { Channel, type ChannelCredentials, type ChannelOptions, credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';

import { followStream } from './server-stream.js';
import { callUnary, type UnaryMethod } from './unary-call.js';

/** Default per-call deadline. Long enough for a deploy on a busy master, short enough that a CLI never hangs. */
export const DEFAULT_DEADLINE_MS = 10_000;

/** How to reach a master. */
export interface DroverClientOptions {
  /** Channel credentials; default insecure (loopback / dev clusters). */
  credentials?: ChannelCredentials;
  /** Deadline of every call in milliseconds; default 10 000. */
  deadlineMs?: number;
  /** grpc-js channel options, e.g. from dialTarget, which pairs them with the credentials. */
  channelOptions?: ChannelOptions;
}

/** How to make a change to an app. */
export interface ChangeOptions {
  /** Replace a deployment of the app that is still running instead of failing with FailedPrecondition. */
  force?: boolean;
}

/** What a change to an app did. */
export interface ChangeResult {
  /** The app as stored after the change, with defaults filled in and its version. */
  app: App;
  /** The deployment carrying the change out; absent when nothing changed. */
  deployment?: Deployment;
}

/** What a deploy did. */
export interface DeployResult extends ChangeResult {
  /** True when the app did not exist before. */
  created: boolean;
}

/** Which version to roll back to. */
export interface RollbackOptions extends ChangeOptions {
  /** The version to go back to (see appVersions); default the one before the current. */
  toVersion?: string;
}

/** What a rollback did: the app at its new version (with the old spec) and the deployment. */
export interface RollbackResult {
  /** The app after the change. */
  app: App;
  /** The deployment carrying the rollback out. */
  deployment: Deployment;
}

/** Which deployments to list. */
export interface ListDeploymentsOptions {
  /** Only this app's ("web" and "/web" are the same). */
  appId?: string;
  /** Include ended deployments (kept by the master for a while). */
  includeEnded?: boolean;
}

/** How to cancel a deployment. */
export interface CancelOptions {
  /** Just stop it, leaving the app's spec as it is, instead of rolling back. */
  force?: boolean;
}

/** What a cancel did. */
export interface CancelResult {
  /** The canceled deployment. */
  canceled: Deployment;
  /** The deployment rolling the change back; absent with force. */
  rollback?: Deployment;
}

/** Which events to watch. */
export interface WatchEventsOptions {
  /** Only these types (Marathon's names, e.g. "status_update_event"); every type when empty. */
  types?: readonly string[];
  /** First replay the events the master still holds with a larger id (resume after a disconnect). */
  afterId?: number;
}

/** Which tasks to list. */
export interface ListTasksOptions {
  /** Only tasks of this app ("web" and "/web" are the same). */
  appId?: string;
  /** Include tasks that have ended (kept by the master for a while). */
  includeEnded?: boolean;
}

/** Which log of a task to read, and how. */
export interface TaskLogsOptions {
  /** stderr instead of stdout. */
  stderr?: boolean;
  /** Keep streaming what the task writes (across log rotation) until it ends or the signal aborts. */
  follow?: boolean;
  /** Start with the last this-many lines (0: none, so a follow shows only new output); default the whole current file. */
  tailLines?: number;
}

/** Which part of a sandbox file to read. */
export interface ReadTaskFileOptions {
  /** First byte; default 0. */
  offset?: number;
  /** At most this many bytes; default to the end. */
  length?: number;
}

/** Facts about the cluster, as the answering master reports them. */
export type ClusterInfo = InfoResponse;

/** A promise-based client for one master address. Call close() when done. */
export class DroverClient {
  /** The host:port this client dials; named in connection errors. */
  readonly address: string;
  private readonly deadlineMs: number;
  private readonly channel: Channel;
  private readonly apps: AppsClient;
  private readonly tasks: TasksClient;
  private readonly agents: AgentsClient;
  private readonly cluster: ClusterClient;
  private readonly deployments: DeploymentsClient;
  private readonly events: EventsClient;

  constructor(address: string, options: DroverClientOptions = {}) {
    this.address = address;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    const creds = options.credentials ?? grpcCredentials.createInsecure();
    this.channel = new Channel(address, creds, options.channelOptions ?? {});
    const shared = { channelOverride: this.channel };
    this.apps = new AppsClient(address, creds, shared);
    this.tasks = new TasksClient(address, creds, shared);
    this.agents = new AgentsClient(address, creds, shared);
    this.cluster = new ClusterClient(address, creds, shared);
    this.deployments = new DeploymentsClient(address, creds, shared);
    this.events = new EventsClient(address, creds, shared);
  }

  /** Creates the app, or replaces its spec if the id exists; the deployment is absent when the spec did not change. */
  async deployApp(spec: AppSpec, options: ChangeOptions = {}): Promise<DeployResult> {
    const res = await this.call(this.apps, this.apps.deploy, { app: spec, force: options.force ?? false });
    return withDeployment({ app: present(res.app, 'app'), created: res.created }, res.deployment);
  }

  /** One app; NotFound if there is none. */
  async getApp(id: string): Promise<App> {
    const res = await this.call(this.apps, this.apps.get, { id });
    return present(res.app, 'app');
  }

  /** Every app, sorted by id. */
  async listApps(): Promise<App[]> {
    const res = await this.call(this.apps, this.apps.list, {});
    return res.apps;
  }

  /** Sets an app's instance count (scale-down kills the youngest tasks); the deployment is absent when the count did not change. */
  async scaleApp(id: string, instances: number, options: ChangeOptions = {}): Promise<ChangeResult> {
    const res = await this.call(this.apps, this.apps.scale, { id, instances, force: options.force ?? false });
    return withDeployment({ app: present(res.app, 'app') }, res.deployment);
  }

  /** Removes an app and kills its tasks; with force even while a deployment runs (it is canceled). */
  async deleteApp(id: string, options: ChangeOptions = {}): Promise<{ tasksKilled: number }> {
    const res = await this.call(this.apps, this.apps.delete, { id, force: options.force ?? false });
    return { tasksKilled: res.tasksKilled };
  }

  /** Replaces every task of an app with a new one, under its upgrade strategy. */
  async restartApp(id: string, options: ChangeOptions = {}): Promise<Deployment> {
    const res = await this.call(this.apps, this.apps.restart, { id, force: options.force ?? false });
    return present(res.deployment, 'deployment');
  }

  /** Every stored version of an app with its spec, newest first. */
  async appVersions(id: string): Promise<AppVersion[]> {
    const res = await this.call(this.apps, this.apps.versions, { id });
    return res.versions;
  }

  /** Deploys the spec of an earlier version (the previous one by default) as a new version. */
  async rollbackApp(id: string, options: RollbackOptions = {}): Promise<RollbackResult> {
    const res = await this.call(this.apps, this.apps.rollback, { id, toVersion: options.toVersion ?? '', force: options.force ?? false });
    return { app: present(res.app, 'app'), deployment: present(res.deployment, 'deployment') };
  }

  /** Running deployments, newest first; ended ones too when asked. */
  async listDeployments(options: ListDeploymentsOptions = {}): Promise<Deployment[]> {
    const res = await this.call(this.deployments, this.deployments.list, {
      // Normalized here: the master compares the filter with stored ids as they are.
      appId: options.appId ? normalizeAppId(options.appId) : '',
      includeEnded: options.includeEnded ?? false,
    });
    return res.deployments;
  }

  /** One deployment, with its progress as of now; NotFound if the master does not know it. */
  async getDeployment(id: string): Promise<Deployment> {
    const res = await this.call(this.deployments, this.deployments.get, { id });
    return present(res.deployment, 'deployment');
  }

  /** Cancels a running deployment: rolls it back, or with force just stops it. */
  async cancelDeployment(id: string, options: CancelOptions = {}): Promise<CancelResult> {
    const res = await this.call(this.deployments, this.deployments.cancel, { id, force: options.force ?? false });
    const canceled = present(res.canceled, 'deployment');
    return res.rollback ? { canceled, rollback: res.rollback } : { canceled };
  }

  /**
   * Follows the master's event feed, calling `onEvent` for each event in
   * order. Resolves when the master ends the stream or `signal` aborts;
   * rejects with a DroverError when the call fails or `onEvent` throws.
   * No deadline applies.
   */
  async watchEvents(options: WatchEventsOptions, onEvent: (event: Event) => void, signal?: AbortSignal): Promise<void> {
    const request = WatchEventsRequest.fromPartial({ types: [...(options.types ?? [])], afterId: options.afterId ?? 0 });
    await followStream(() => this.events.watch(request, new Metadata(), {}), onEvent, this.address, signal);
  }

  /** Tasks, live first; ended ones only when asked. */
  async listTasks(options: ListTasksOptions = {}): Promise<Task[]> {
    const res = await this.call(this.tasks, this.tasks.list, {
      appId: options.appId ?? '',
      includeEnded: options.includeEnded ?? false,
    });
    return res.tasks;
  }

  /** Tasks as listTasks gives them, plus the app instances that have no task yet and why. */
  async taskOverview(options: ListTasksOptions = {}): Promise<{ tasks: Task[]; waiting: WaitingInstances[] }> {
    return this.call(this.tasks, this.tasks.list, { appId: options.appId ?? '', includeEnded: options.includeEnded ?? false });
  }

  /**
   * Runs a one-off task. Without `wait` resolves with the accepted task (PENDING
   * or already placed); with it, calls `onUpdate` on every change and
   * resolves with the task once it has ended. No deadline applies while
   * waiting: a task may run for hours. Aborting `signal` stops following at
   * once (the task runs on) and rejects with Code.Canceled.
   */
  async runTask(request: Partial<RunTaskRequest>, onUpdate: (task: Task) => void = () => undefined, signal?: AbortSignal): Promise<Task> {
    const options = request.wait ? {} : { deadline: Date.now() + this.deadlineMs };
    let last: Task | undefined;
    const outcome = await followStream(
      () => this.tasks.run(RunTaskRequest.fromPartial(request), new Metadata(), options),
      (res: RunTaskResponse) => {
        if (!res.task) return;
        last = res.task;
        onUpdate(res.task);
      },
      this.address,
      signal,
    );
    if (outcome === 'aborted') throw new DroverError(last ? `stopped following task ${last.id}` : 'stopped before the master answered', Code.Canceled);
    if (!last) throw new DroverError('the master answered without the task', Code.Internal);
    return last;
  }

  /** One task; NotFound if the master does not know it. */
  async getTask(id: string): Promise<Task> {
    const res = await this.call(this.tasks, this.tasks.get, { id });
    return present(res.task, 'task');
  }

  /**
   * A task's stdout (or stderr), relayed by the master from the task's
   * agent, as raw bytes in order. Resolves when the log was sent (with
   * follow: when the task ended, or at once when `signal` aborts); rejects
   * with NotFound for an unknown task and Unavailable when its agent is not
   * connected.
   */
  async taskLogs(taskId: string, options: TaskLogsOptions, onData: (data: Uint8Array) => void, signal?: AbortSignal): Promise<void> {
    const request = TaskLogsRequest.fromPartial({
      taskId,
      stderr: options.stderr ?? false,
      follow: options.follow ?? false,
      tailLines: options.tailLines,
    });
    await followStream(
      () => this.tasks.logs(request, new Metadata(), {}),
      (res) => {
        if (res.data.length > 0) onData(res.data);
      },
      this.address,
      signal,
    );
  }

  /** The entries of a directory of a task's sandbox ("" for the sandbox), sorted by path; a file gives its one entry. */
  async listTaskFiles(taskId: string, path = ''): Promise<FileEntry[]> {
    const res = await this.call(this.tasks, this.tasks.listFiles, { taskId, path });
    return res.entries;
  }

  /** Reads a file of a task's sandbox, handing over its bytes in order with the offset each piece starts at. */
  async readTaskFile(
    taskId: string,
    path: string,
    options: ReadTaskFileOptions,
    onData: (data: Uint8Array, offset: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const request = ReadTaskFileRequest.fromPartial({ taskId, path, offset: options.offset ?? 0, length: options.length ?? 0 });
    await followStream(
      () => this.tasks.readFile(request, new Metadata(), {}),
      (res) => {
        if (res.data.length > 0) onData(res.data, res.offset);
      },
      this.address,
      signal,
    );
  }

  /** Asks for one task to be killed; returns it as it is right after the request. */
  async killTask(id: string): Promise<Task> {
    const res = await this.call(this.tasks, this.tasks.kill, { id });
    return present(res.task, 'task');
  }

  /** Every agent the master knows, sorted by hostname. */
  async listAgents(): Promise<Agent[]> {
    const res = await this.call(this.agents, this.agents.list, {});
    return res.agents;
  }

  /** One agent; NotFound if unknown. */
  async getAgent(id: string): Promise<Agent> {
    const res = await this.call(this.agents, this.agents.get, { id });
    return present(res.agent, 'agent');
  }

  /** Drains an agent: no new tasks; its tasks move elsewhere; what remains is killed after `deadlineSeconds` (default 300). */
  async drainAgent(id: string, deadlineSeconds?: number): Promise<Agent> {
    const res = await this.call(this.agents, this.agents.drain, { id, deadlineSeconds });
    return present(res.agent, 'agent');
  }

  /** Ends an agent's drain. */
  async undrainAgent(id: string): Promise<Agent> {
    const res = await this.call(this.agents, this.agents.undrain, { id });
    return present(res.agent, 'agent');
  }

  /** Version, leader, uptime and counts of the answering master. */
  async clusterInfo(): Promise<ClusterInfo> {
    return this.call(this.cluster, this.cluster.info, {});
  }

  /** Closes the shared channel; calls made afterwards fail. */
  close(): void {
    this.channel.close();
  }

  private call<Req, Res>(stub: object, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return callUnary(method.bind(stub), request, this.address, this.deadlineMs);
  }
}

/** The result with its deployment, leaving the key out when the master started none. */
function withDeployment<R extends object>(result: R, deployment: Deployment | undefined): R & { deployment?: Deployment } {
  return deployment ? { ...result, deployment } : result;
}

/** proto3 message fields may be absent on the wire; a master that omits one is broken, so say so. */
function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DroverError(`the master answered without the ${what}`, Code.Internal);
  return value;
}
