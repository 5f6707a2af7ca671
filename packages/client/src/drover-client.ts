/**
 * The typed client of a Drover master's gRPC API (apps, tasks, agents,
 * cluster). All four service stubs share one channel, so a client holds a
 * single HTTP/2 connection however many services it calls; every method
 * has a deadline and rejects only with DroverError (ValidationError when
 * the master refused a spec, with the master's field paths).
 */
import { Code, DroverError, fromGrpcError } from '@drover/common';
import {
  type Agent,
  AgentsClient,
  type App,
  AppsClient,
  type AppSpec,
  ClusterClient,
  type InfoResponse,
  RunTaskRequest,
  type RunTaskResponse,
  type Task,
  TasksClient,
  type WaitingInstances,
} from '@drover/proto';
import { Channel, type ChannelCredentials, credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';

import { callUnary, type UnaryMethod } from './unary-call.js';

/** Default per-call deadline. Long enough for a deploy on a busy master, short enough that a CLI never hangs. */
export const DEFAULT_DEADLINE_MS = 10_000;

/** How to reach a master. */
export interface DroverClientOptions {
  /** Channel credentials; default insecure (loopback / dev clusters). */
  credentials?: ChannelCredentials;
  /** Deadline of every call in milliseconds; default 10 000. */
  deadlineMs?: number;
}

/** What a deploy did. */
export interface DeployResult {
  /** The app as stored, with defaults filled in and its new version. */
  app: App;
  /** True when the app did not exist before. */
  created: boolean;
}

/** Which tasks to list. */
export interface ListTasksOptions {
  /** Only tasks of this app ("web" and "/web" are the same). */
  appId?: string;
  /** Include tasks that have ended (kept by the master for a while). */
  includeEnded?: boolean;
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

  constructor(address: string, options: DroverClientOptions = {}) {
    this.address = address;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    const creds = options.credentials ?? grpcCredentials.createInsecure();
    this.channel = new Channel(address, creds, {});
    const shared = { channelOverride: this.channel };
    this.apps = new AppsClient(address, creds, shared);
    this.tasks = new TasksClient(address, creds, shared);
    this.agents = new AgentsClient(address, creds, shared);
    this.cluster = new ClusterClient(address, creds, shared);
  }

  /** Creates the app, or replaces its spec if the id exists. */
  async deployApp(spec: AppSpec): Promise<DeployResult> {
    const res = await this.call(this.apps, this.apps.deploy, { app: spec });
    return { app: present(res.app, 'app'), created: res.created };
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

  /** Sets an app's instance count; scale-down kills the youngest tasks. */
  async scaleApp(id: string, instances: number): Promise<App> {
    const res = await this.call(this.apps, this.apps.scale, { id, instances });
    return present(res.app, 'app');
  }

  /** Removes an app and kills its tasks. */
  async deleteApp(id: string): Promise<{ tasksKilled: number }> {
    const res = await this.call(this.apps, this.apps.delete, { id });
    return { tasksKilled: res.tasksKilled };
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
   * waiting: a task may run for hours.
   */
  runTask(request: Partial<RunTaskRequest>, onUpdate: (task: Task) => void = () => undefined): Promise<Task> {
    const wait = request.wait ?? false;
    return new Promise<Task>((resolve, reject) => {
      let last: Task | undefined;
      const options = wait ? {} : { deadline: Date.now() + this.deadlineMs };
      let call;
      try {
        call = this.tasks.run(RunTaskRequest.fromPartial(request), new Metadata(), options);
      } catch (error) {
        reject(fromGrpcError(error, this.address));
        return;
      }
      call.on('data', (res: RunTaskResponse) => {
        if (!res.task) return;
        last = res.task;
        onUpdate(res.task);
      });
      call.on('error', (error: unknown) => reject(fromGrpcError(error, this.address)));
      call.on('end', () => (last ? resolve(last) : reject(new DroverError('the master answered without the task', Code.Internal))));
    });
  }

  /** One task; NotFound if the master does not know it. */
  async getTask(id: string): Promise<Task> {
    const res = await this.call(this.tasks, this.tasks.get, { id });
    return present(res.task, 'task');
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

/** proto3 message fields may be absent on the wire; a master that omits one is broken, so say so. */
function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DroverError(`the master answered without the ${what}`, Code.Internal);
  return value;
}
