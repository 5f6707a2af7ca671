/**
 * A real grpc-js server on 127.0.0.1:0 that implements the client services
 * from a table of handlers, so command tests exercise the real client, wire
 * format and error mapping. A handler that throws fails the call through
 * toGrpcError, as the real master does; a method without a handler never
 * answers.
 */
import { toGrpcError } from '@drover/common';
import { AgentsService, AppsService, ClusterService, TasksService } from '@drover/proto';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';

/** Answers one method's request, or throws to fail the call. */
export type FakeHandler = (request: any) => unknown;

/** Handlers keyed "service.method", e.g. "apps.deploy". */
export type FakeHandlers = Record<string, FakeHandler>;

/** A running fake master. */
export interface FakeMaster {
  /** host:port to pass as --master. */
  readonly address: string;
  /** Every call received, in order, as [method, request]. */
  readonly calls: Array<[string, unknown]>;
  /** Shuts the server down. */
  stop(): void;
}

const SERVICES = { apps: AppsService, tasks: TasksService, agents: AgentsService, cluster: ClusterService } as const;

/** Starts a fake master answering with `handlers`. */
export async function startFakeMaster(handlers: FakeHandlers): Promise<FakeMaster> {
  const server = new Server();
  const calls: Array<[string, unknown]> = [];
  for (const [serviceName, service] of Object.entries(SERVICES)) {
    const impl: UntypedServiceImplementation = {};
    for (const method of Object.keys(service)) {
      impl[method] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const key = `${serviceName}.${method}`;
        calls.push([key, call.request]);
        const handler = handlers[key];
        if (handler === undefined) return;
        try {
          callback(null, handler(call.request));
        } catch (e) {
          callback(toGrpcError(e));
        }
      };
    }
    server.addService(service, impl);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, calls, stop: () => server.forceShutdown() };
}
