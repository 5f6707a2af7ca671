/**
 * The typed client of a Drover master's gRPC API (apps, deployments, tasks,
 * agents, cluster, events). All service stubs share one channel per master,
 * so a client holds a single HTTP/2 connection to the master it calls
 * however many services it uses; every unary method has a deadline and
 * everything rejects only with DroverError (ValidationError when the master
 * refused a spec, with the master's field paths; Code.FailedPrecondition
 * when a change met an app whose deployment is still running and was not
 * forced).
 *
 * The streams (runTask with wait, watchEvents, taskLogs, readTaskFile) have
 * no deadline: they last as long as the task, the watcher or the file. Each
 * takes an AbortSignal that cancels the call at once.
 *
 * Finding the leader. The client takes one master or several
 * (`['h1:5053', 'h2:5053']`, or `'h1,h2,h3'`: a host without port means
 * :5053) and calls the one it believes leads, the first at the start. For
 * each call (master-pool.ts applies these):
 *
 * 1. A standby refuses every call but clusterInfo with UNAVAILABLE and the
 *    leader's address (the `drover-leader` trailer, NotLeaderError). The
 *    client switches to that leader and repeats the call, whatever it
 *    does: the standby executed nothing. Later calls go to the leader.
 * 2. A standby that knows no leader (an election is under way): the client
 *    tries the next master.
 * 3. No connection could be established (nothing listens, the host does
 *    not resolve, TLS refused): the call never left the client, so the
 *    client tries the next master.
 * 4. The connection broke after the call was sent, or the master cancelled
 *    it (a master shutting down does): the master may have executed it. Only calls that change nothing (gets, lists, info) are
 *    tried at the next master; a change (deploy, scale, kill, drain, run)
 *    rejects with the UnreachableError, and the caller decides.
 * 5. Any answer from a leader (an error included) is final.
 *
 * Each master is tried at most once per call and redirects are bounded;
 * when every master failed, the last error is the call's. Streams follow
 * the same rules until their first message arrives (runTask is a change);
 * a stream that breaks after that rejects, and the caller resumes it
 * (watchEvents with afterId from the same master's ids).
 */
import { Code, DroverError, type GrpcDial, normalizeAppId } from '@drover/common';
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
import { type ChannelCredentials, type ChannelOptions, type ClientReadableStream, credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';

import { Final, type MasterConnection, MasterPool } from './master-pool.js';
import { followStream, type StreamOutcome } from './server-stream.js';
import { callUnary, type UnaryMethod } from './unary-call.js';

/** Default per-call deadline. Long enough for a deploy on a busy master, short enough that a CLI never hangs. */
export const DEFAULT_DEADLINE_MS = 10_000;

/** How to reach the masters. */
export interface DroverClientOptions {
  /** Channel credentials for every master; default insecure (loopback / dev clusters). */
  credentials?: ChannelCredentials;
  /** Deadline of every call in milliseconds; default 10 000. */
  deadlineMs?: number;
  /** grpc-js channel options, e.g. from dialTarget, which pairs them with the credentials. */
  channelOptions?: ChannelOptions;
  /**
   * Credentials and channel options per master address, e.g.
   * `(a) => dialTarget(tls, a)` (they may differ by address: an IP target
   * needs a TLS server name override); takes precedence over the two above.
   */
  dial?: (address: string) => GrpcDial;
}

/** The generated stubs of one master, on its channel. */
interface Stubs {
  readonly apps: AppsClient;
  readonly tasks: TasksClient;
  readonly agents: AgentsClient;
  readonly cluster: ClusterClient;
  readonly deployments: DeploymentsClient;
  readonly events: EventsClient;
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

/** A promise-based client of a Drover cluster, given one master or several. Call close() when done. */
export class DroverClient {
  private readonly deadlineMs: number;
  private readonly pool: MasterPool;
  private readonly stubsByMaster = new Map<string, Stubs>();

  /** `masters`: "host:port", "h1,h2:6000", or an array of such; throws InvalidArgument on a bad address. */
  constructor(masters: string | readonly string[], options: DroverClientOptions = {}) {
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    const shared: GrpcDial = { credentials: options.credentials ?? grpcCredentials.createInsecure(), channelOptions: options.channelOptions ?? {} };
    this.pool = new MasterPool(masters, options.dial ?? (() => shared));
  }

  /** The host:port calls go to now: the leader once one answered. */
  get address(): string {
    return this.pool.current;
  }

  /** Every master the client knows: those given, then leaders learnt from standbys. */
  get masters(): readonly string[] {
    return this.pool.masters;
  }

  /** Creates the app, or replaces its spec if the id exists; the deployment is absent when the spec did not change. */
  async deployApp(spec: AppSpec, options: ChangeOptions = {}): Promise<DeployResult> {
    const res = await this.call(CHANGE, (s) => s.apps.deploy.bind(s.apps), { app: spec, force: options.force ?? false });
    return withDeployment({ app: present(res.app, 'app'), created: res.created }, res.deployment);
  }

  /** One app; NotFound if there is none. */
  async getApp(id: string): Promise<App> {
    const res = await this.call(READ, (s) => s.apps.get.bind(s.apps), { id });
    return present(res.app, 'app');
  }

  /** Every app, sorted by id. */
  async listApps(): Promise<App[]> {
    const res = await this.call(READ, (s) => s.apps.list.bind(s.apps), {});
    return res.apps;
  }

  /** Sets an app's instance count (scale-down kills the youngest tasks); the deployment is absent when the count did not change. */
  async scaleApp(id: string, instances: number, options: ChangeOptions = {}): Promise<ChangeResult> {
    const res = await this.call(CHANGE, (s) => s.apps.scale.bind(s.apps), { id, instances, force: options.force ?? false });
    return withDeployment({ app: present(res.app, 'app') }, res.deployment);
  }

  /** Removes an app and kills its tasks; with force even while a deployment runs (it is canceled). */
  async deleteApp(id: string, options: ChangeOptions = {}): Promise<{ tasksKilled: number }> {
    const res = await this.call(CHANGE, (s) => s.apps.delete.bind(s.apps), { id, force: options.force ?? false });
    return { tasksKilled: res.tasksKilled };
  }

  /** Replaces every task of an app with a new one, under its upgrade strategy. */
  async restartApp(id: string, options: ChangeOptions = {}): Promise<Deployment> {
    const res = await this.call(CHANGE, (s) => s.apps.restart.bind(s.apps), { id, force: options.force ?? false });
    return present(res.deployment, 'deployment');
  }

  /** Every stored version of an app with its spec, newest first. */
  async appVersions(id: string): Promise<AppVersion[]> {
    const res = await this.call(READ, (s) => s.apps.versions.bind(s.apps), { id });
    return res.versions;
  }

  /** Deploys the spec of an earlier version (the previous one by default) as a new version. */
  async rollbackApp(id: string, options: RollbackOptions = {}): Promise<RollbackResult> {
    const res = await this.call(CHANGE, (s) => s.apps.rollback.bind(s.apps), { id, toVersion: options.toVersion ?? '', force: options.force ?? false });
    return { app: present(res.app, 'app'), deployment: present(res.deployment, 'deployment') };
  }

  /** Running deployments, newest first; ended ones too when asked. */
  async listDeployments(options: ListDeploymentsOptions = {}): Promise<Deployment[]> {
    const res = await this.call(READ, (s) => s.deployments.list.bind(s.deployments), {
      // Normalized here: the master compares the filter with stored ids as they are.
      appId: options.appId ? normalizeAppId(options.appId) : '',
      includeEnded: options.includeEnded ?? false,
    });
    return res.deployments;
  }

  /** One deployment, with its progress as of now; NotFound if the master does not know it. */
  async getDeployment(id: string): Promise<Deployment> {
    const res = await this.call(READ, (s) => s.deployments.get.bind(s.deployments), { id });
    return present(res.deployment, 'deployment');
  }

  /** Cancels a running deployment: rolls it back, or with force just stops it. */
  async cancelDeployment(id: string, options: CancelOptions = {}): Promise<CancelResult> {
    const res = await this.call(CHANGE, (s) => s.deployments.cancel.bind(s.deployments), { id, force: options.force ?? false });
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
    await this.follow(READ, (s) => s.events.watch(request, new Metadata(), {}), onEvent, signal);
  }

  /** Tasks, live first; ended ones only when asked. */
  async listTasks(options: ListTasksOptions = {}): Promise<Task[]> {
    const res = await this.call(READ, (s) => s.tasks.list.bind(s.tasks), {
      appId: options.appId ?? '',
      includeEnded: options.includeEnded ?? false,
    });
    return res.tasks;
  }

  /** Tasks as listTasks gives them, plus the app instances that have no task yet and why. */
  async taskOverview(options: ListTasksOptions = {}): Promise<{ tasks: Task[]; waiting: WaitingInstances[] }> {
    return this.call(READ, (s) => s.tasks.list.bind(s.tasks), { appId: options.appId ?? '', includeEnded: options.includeEnded ?? false });
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
    const outcome = await this.follow(
      CHANGE,
      (s) => s.tasks.run(RunTaskRequest.fromPartial(request), new Metadata(), options),
      (res: RunTaskResponse) => {
        if (!res.task) return;
        last = res.task;
        onUpdate(res.task);
      },
      signal,
    );
    if (outcome === 'aborted') throw new DroverError(last ? `stopped following task ${last.id}` : 'stopped before the master answered', Code.Canceled);
    if (!last) throw new DroverError('the master answered without the task', Code.Internal);
    return last;
  }

  /** One task; NotFound if the master does not know it. */
  async getTask(id: string): Promise<Task> {
    const res = await this.call(READ, (s) => s.tasks.get.bind(s.tasks), { id });
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
    await this.follow(
      READ,
      (s) => s.tasks.logs(request, new Metadata(), {}),
      (res) => {
        if (res.data.length > 0) onData(res.data);
      },
      signal,
    );
  }

  /** The entries of a directory of a task's sandbox ("" for the sandbox), sorted by path; a file gives its one entry. */
  async listTaskFiles(taskId: string, path = ''): Promise<FileEntry[]> {
    const res = await this.call(READ, (s) => s.tasks.listFiles.bind(s.tasks), { taskId, path });
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
    await this.follow(
      READ,
      (s) => s.tasks.readFile(request, new Metadata(), {}),
      (res) => {
        if (res.data.length > 0) onData(res.data, res.offset);
      },
      signal,
    );
  }

  /** Asks for one task to be killed; returns it as it is right after the request. */
  async killTask(id: string): Promise<Task> {
    const res = await this.call(CHANGE, (s) => s.tasks.kill.bind(s.tasks), { id });
    return present(res.task, 'task');
  }

  /** Every agent the master knows, sorted by hostname. */
  async listAgents(): Promise<Agent[]> {
    const res = await this.call(READ, (s) => s.agents.list.bind(s.agents), {});
    return res.agents;
  }

  /** One agent; NotFound if unknown. */
  async getAgent(id: string): Promise<Agent> {
    const res = await this.call(READ, (s) => s.agents.get.bind(s.agents), { id });
    return present(res.agent, 'agent');
  }

  /** Drains an agent: no new tasks; its tasks move elsewhere; what remains is killed after `deadlineSeconds` (default 300). */
  async drainAgent(id: string, deadlineSeconds?: number): Promise<Agent> {
    const res = await this.call(CHANGE, (s) => s.agents.drain.bind(s.agents), { id, deadlineSeconds });
    return present(res.agent, 'agent');
  }

  /** Ends an agent's drain. */
  async undrainAgent(id: string): Promise<Agent> {
    const res = await this.call(CHANGE, (s) => s.agents.undrain.bind(s.agents), { id });
    return present(res.agent, 'agent');
  }

  /** Version, leader, uptime and counts of the answering master. */
  async clusterInfo(): Promise<ClusterInfo> {
    return this.call(READ, (s) => s.cluster.info.bind(s.cluster), {});
  }

  /** Closes every channel; calls made afterwards fail. */
  close(): void {
    this.pool.close();
  }

  /** One unary call at the leader, following the rules at the top of this file. */
  private call<Req, Res>(changesNothing: boolean, method: (stubs: Stubs) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return this.pool.run(changesNothing, (master) => callUnary(method(this.stubs(master)), request, master.address, this.deadlineMs));
  }

  /** One server stream at the leader: it may move to another master only until its first message arrived. */
  private follow<Res>(
    changesNothing: boolean,
    start: (stubs: Stubs) => ClientReadableStream<Res>,
    onMessage: (message: Res) => void,
    signal: AbortSignal | undefined,
  ): Promise<StreamOutcome> {
    return this.pool.run(changesNothing, async (master) => {
      let received = false;
      try {
        return await followStream(
          () => start(this.stubs(master)),
          (message) => {
            received = true;
            onMessage(message);
          },
          master.address,
          signal,
        );
      } catch (error) {
        // What was received came from this master: the caller must know the stream broke.
        throw received ? new Final(error) : error;
      }
    });
  }

  private stubs(master: MasterConnection): Stubs {
    let stubs = this.stubsByMaster.get(master.address);
    if (stubs === undefined) {
      const shared = { channelOverride: master.channel };
      // The credentials given here are unused: the shared channel carries its own.
      const creds = grpcCredentials.createInsecure();
      stubs = {
        apps: new AppsClient(master.address, creds, shared),
        tasks: new TasksClient(master.address, creds, shared),
        agents: new AgentsClient(master.address, creds, shared),
        cluster: new ClusterClient(master.address, creds, shared),
        deployments: new DeploymentsClient(master.address, creds, shared),
        events: new EventsClient(master.address, creds, shared),
      };
      this.stubsByMaster.set(master.address, stubs);
    }
    return stubs;
  }
}

/** Calls that change nothing may be repeated at another master after a broken connection; changes may not. */
const READ = true;
const CHANGE = false;

/** The result with its deployment, leaving the key out when the master started none. */
function withDeployment<R extends object>(result: R, deployment: Deployment | undefined): R & { deployment?: Deployment } {
  return deployment ? { ...result, deployment } : result;
}

/** proto3 message fields may be absent on the wire; a master that omits one is broken, so say so. */
function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DroverError(`the master answered without the ${what}`, Code.Internal);
  return value;
}
