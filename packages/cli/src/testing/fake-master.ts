/**
 * A real grpc-js server on 127.0.0.1:0 that implements the client services
 * from a table of handlers, so command tests exercise the real client, wire
 * format and error mapping. A handler that throws (or returns a promise
 * that rejects) fails the call through toGrpcError, as the real master
 * does; a method without a handler never answers. A server-streaming method (Tasks.Run, Events.Watch) takes a
 * handler returning the messages to send, as an array or an async iterable:
 * the stream ends after the last one, fails if iterating throws, and stays
 * open while the iterable waits. Streams the client cancels are recorded.
 */
import { toGrpcError } from '@drover/common';
import { AgentsService, AppsService, ClusterService, DeploymentsService, EventsService, TasksService } from '@drover/proto';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

/** Answers one method's request (or, for a streaming method, returns its messages), or throws to fail the call. */
export type FakeHandler = (request: any) => unknown;

/** Handlers keyed "service.method", e.g. "apps.deploy". */
export type FakeHandlers = Record<string, FakeHandler>;

/** A running fake master. */
export interface FakeMaster {
  /** host:port to pass as --master. */
  readonly address: string;
  /** Every call received, in order, as [method, request]. */
  readonly calls: Array<[string, unknown]>;
  /** The streaming calls the client canceled, as "service.method", in order. */
  readonly canceled: string[];
  /** Shuts the server down. */
  stop(): void;
}

const SERVICES = {
  apps: AppsService,
  tasks: TasksService,
  agents: AgentsService,
  cluster: ClusterService,
  deployments: DeploymentsService,
  events: EventsService,
} as const;

/** Starts a fake master answering with `handlers`. */
export async function startFakeMaster(handlers: FakeHandlers): Promise<FakeMaster> {
  const server = new Server();
  const calls: Array<[string, unknown]> = [];
  const canceled: string[] = [];
  for (const [serviceName, service] of Object.entries(SERVICES)) {
    const impl: UntypedServiceImplementation = {};
    for (const [method, definition] of Object.entries(service)) {
      const key = `${serviceName}.${method}`;
      impl[method] = definition.responseStream
        ? (call: ServerWritableStream<unknown, unknown>) => {
            calls.push([key, call.request]);
            call.on('cancelled', () => canceled.push(key));
            const handler = handlers[key];
            if (handler !== undefined) void stream(call, () => handler(call.request));
          }
        : (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
            calls.push([key, call.request]);
            const handler = handlers[key];
            if (handler === undefined) return;
            // A promise lets a test answer late; a plain value answers at once, as before.
            let answer: unknown;
            try {
              answer = handler(call.request);
            } catch (e) {
              callback(toGrpcError(e));
              return;
            }
            if (!(answer instanceof Promise)) return callback(null, answer);
            answer.then(
              (value: unknown) => callback(null, value),
              (e: unknown) => callback(toGrpcError(e)),
            );
          };
    }
    server.addService(service, impl);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, calls, canceled, stop: () => server.forceShutdown() };
}

/** Writes every message `answer` gives, then ends the stream; a throw fails it. */
async function stream(call: ServerWritableStream<unknown, unknown>, answer: () => unknown): Promise<void> {
  try {
    for await (const message of answer() as Iterable<unknown> | AsyncIterable<unknown>) {
      if (call.cancelled) return;
      call.write(message);
    }
    call.end();
  } catch (e) {
    if (!call.cancelled) call.emit('error', toGrpcError(e));
  }
}
