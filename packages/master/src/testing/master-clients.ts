/**
 * Plain gRPC clients of a running master for the master's own tests (the
 * typed @drover/client sits above this package), and a polling helper. Not
 * exported from the package index.
 */
import { fromGrpcError } from '@drover/common';
import {
  type Agent,
  AgentsClient,
  type App,
  AppsClient,
  AppSpec,
  ClusterClient,
  type DeleteAppResponse,
  type DeployAppResponse,
  type GetAppResponse,
  type InfoResponse,
  type ListAgentsResponse,
  type ListAppsResponse,
  type ListTasksResponse,
  type ScaleAppResponse,
  type Task,
  TasksClient,
} from '@drover/proto';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import type { RunningMaster } from '../master-options.js';

type Callback<Res> = (e: ServiceError | null, r?: Res) => void;

/** A unary call as a promise; a gRPC error becomes the DroverError it stands for. */
function call<Res>(invoke: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((e, r) => (e ? reject(fromGrpcError(e)) : resolve(r as Res))));
}

/** Clients of `m` over plaintext loopback; close() closes them all. */
export function masterClients(m: RunningMaster) {
  const address = `127.0.0.1:${m.grpcPort}`;
  const apps = new AppsClient(address, credentials.createInsecure());
  const tasks = new TasksClient(address, credentials.createInsecure());
  const agentsClient = new AgentsClient(address, credentials.createInsecure());
  const cluster = new ClusterClient(address, credentials.createInsecure());
  return {
    deploy: (app: Partial<AppSpec>) =>
      call<DeployAppResponse>((cb) => apps.deploy({ app: AppSpec.fromPartial(app), force: true }, cb)),
    getApp: async (id: string): Promise<App> => (await call<GetAppResponse>((cb) => apps.get({ id }, cb))).app as App,
    listApps: async () => (await call<ListAppsResponse>((cb) => apps.list({}, cb))).apps,
    scale: (id: string, instances: number) => call<ScaleAppResponse>((cb) => apps.scale({ id, instances, force: true }, cb)),
    deleteApp: (id: string) => call<DeleteAppResponse>((cb) => apps.delete({ id, force: true }, cb)),
    tasks: async (appId = '', includeEnded = false): Promise<Task[]> =>
      (await call<ListTasksResponse>((cb) => tasks.list({ appId, includeEnded }, cb))).tasks,
    killTask: (id: string) => call((cb) => tasks.kill({ id }, cb)),
    agents: async (): Promise<Agent[]> => (await call<ListAgentsResponse>((cb) => agentsClient.list({}, cb))).agents,
    info: () => call<InfoResponse>((cb) => cluster.info({}, cb)),
    close: () => [apps, tasks, agentsClient, cluster].forEach((c) => c.close()),
  };
}

/** Polls `fn` until `ok` holds for its value; fails after `timeoutMs` showing the last value. */
export async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
