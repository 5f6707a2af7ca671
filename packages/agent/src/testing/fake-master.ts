/**
 * A scriptable master for tests: a real grpc-js server on 127.0.0.1 that
 * implements AgentService, records everything agents send, answers Register
 * (or NotLeader), and lets a test push any MasterMessage with any epoch.
 * Not exported from the package index.
 */
import { Code, DroverError, newId } from '@drover/common';
import {
  type AgentMessage,
  AgentServiceService,
  type MasterMessage,
  type Register,
  type TaskStatus,
} from '@drover/proto';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';

/** How a FakeMaster answers. */
export interface FakeMasterOptions {
  /** Epoch stamped on every message; default 1. */
  epoch?: number;
  /** Heartbeat interval put in Registered; default 0 (no watchdog). */
  heartbeatIntervalMs?: number;
  /** Ack every status as soon as it arrives; default true. */
  autoAck?: boolean;
  /** Answer Register with NotLeader naming this address instead of Registered. */
  notLeader?: string;
}

/** One agent stream as the fake master sees it. */
export class FakeAgentConnection {
  /** The Register that opened the stream. */
  register: Register | undefined;
  /** Every message after Register, in order. */
  readonly messages: AgentMessage[] = [];
  /** True once the stream ended either way. */
  closed = false;

  constructor(
    private readonly call: ServerDuplexStream<AgentMessage, MasterMessage>,
    private readonly master: FakeMaster,
  ) {}

  /** Statuses received on this stream. */
  get statuses(): TaskStatus[] {
    return this.messages.flatMap((m) => (m.message?.$case === 'status' ? [m.message.value] : []));
  }

  /** Sends a message to the agent, stamped with the master's epoch unless one is given. */
  send(body: MasterMessage['message'], epoch = this.master.epoch): void {
    if (!this.closed) this.call.write({ epoch, message: body });
  }

  /** Ends the stream from the master's side. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
  }
}

/** A fake master serving AgentService on 127.0.0.1 and a free port. */
export class FakeMaster {
  /** Every stream opened, oldest first. */
  readonly connections: FakeAgentConnection[] = [];
  /** Epoch stamped on outgoing messages (tests may change it). */
  epoch: number;
  /** Heartbeat interval announced in Registered. */
  heartbeatIntervalMs: number;
  /** Whether statuses are acked on arrival. */
  autoAck: boolean;
  /** When set, Register is answered with NotLeader(leader). */
  notLeader: string | undefined;
  /** The agent id handed to agents that register without one. */
  readonly assignedId = newId();
  /** The agent secret handed to agents that register without one. */
  readonly issuedSecret = `secret-${newId()}`;

  private constructor(
    private readonly server: Server,
    /** host:port to dial. */
    readonly address: string,
    options: FakeMasterOptions,
  ) {
    this.epoch = options.epoch ?? 1;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 0;
    this.autoAck = options.autoAck ?? true;
    this.notLeader = options.notLeader;
  }

  /** Starts a fake master. */
  static async start(options: FakeMasterOptions = {}): Promise<FakeMaster> {
    const server = new Server();
    let master: FakeMaster | undefined;
    server.addService(AgentServiceService, {
      connect: (call: ServerDuplexStream<AgentMessage, MasterMessage>) => master?.accept(call),
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    master = new FakeMaster(server, `127.0.0.1:${port}`, options);
    return master;
  }

  /** The newest stream. */
  get latest(): FakeAgentConnection | undefined {
    return this.connections.at(-1);
  }

  /** Every status received on any stream, in arrival order. */
  get statuses(): TaskStatus[] {
    return this.connections.flatMap((c) => c.statuses);
  }

  /** Stops serving at once. */
  stop(): void {
    for (const c of this.connections) c.closed = true;
    this.server.forceShutdown();
  }

  private accept(call: ServerDuplexStream<AgentMessage, MasterMessage>): void {
    const connection = new FakeAgentConnection(call, this);
    this.connections.push(connection);
    call.on('data', (message: AgentMessage) => {
      const body = message.message;
      if (connection.register === undefined && body?.$case === 'register') {
        connection.register = body.value;
        if (this.notLeader !== undefined) {
          connection.send({ $case: 'notLeader', value: { leaderAddress: this.notLeader } });
          connection.end();
          return;
        }
        const agentId = body.value.agentId === '' ? this.assignedId : body.value.agentId;
        // Like the master: a secret for an agent that has none; the one it has is kept.
        const agentSecret = body.value.agentSecret === '' ? this.issuedSecret : '';
        connection.send({ $case: 'registered', value: { agentId, heartbeatIntervalMs: this.heartbeatIntervalMs, agentSecret } });
        return;
      }
      connection.messages.push(message);
      if (body?.$case === 'status' && this.autoAck) {
        connection.send({ $case: 'ack', value: { uuid: body.value.uuid, taskId: body.value.taskId } });
      }
    });
    call.on('end', () => connection.end());
    call.on('error', () => {
      connection.closed = true;
    });
    call.on('cancelled', () => {
      connection.closed = true;
    });
  }
}

/** Polls `probe` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new DroverError(`timed out after ${timeoutMs} ms waiting for ${what}`, Code.DeadlineExceeded);
    await new Promise((r) => setTimeout(r, 10));
  }
}
