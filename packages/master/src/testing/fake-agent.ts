/**
 * A scripted agent for master tests: a real gRPC client on the real
 * AgentService stream, with the test deciding every message it sends.
 */
import { newId } from '@drover/common';
import {
  type AgentMessage,
  AgentServiceClient,
  type MasterMessage,
  type Register,
  TaskState,
  TaskStatus,
} from '@drover/proto';
import { type ChannelCredentials, type ClientDuplexStream, credentials, type ServiceError } from '@grpc/grpc-js';

type Body = NonNullable<MasterMessage['message']>;
/** A master message narrowed to one case. */
export type Received<C extends Body['$case']> = Extract<Body, { $case: C }>['value'] & { epoch: number };

/** One fake agent connection. */
export class FakeAgent {
  readonly inbox: MasterMessage[] = [];
  private readonly client: AgentServiceClient;
  private stream: ClientDuplexStream<AgentMessage, MasterMessage> | undefined;
  private waiters: Array<() => void> = [];
  ended = false;
  /** How the master ended the stream, when it ended it with an error status (a refused Register). */
  failure: ServiceError | undefined;
  /** When false, pings go unanswered (a connection that went half-open). */
  answerPings = true;

  constructor(
    address: string,
    readonly register: Register,
    channel: ChannelCredentials = credentials.createInsecure(),
  ) {
    this.client = new AgentServiceClient(address, channel);
  }

  /** A Register with sensible defaults. */
  static registration(overrides: Partial<Register> = {}): Register {
    return {
      agentId: '',
      hostname: `fake-${newId().slice(0, 8)}`,
      address: '127.0.0.1',
      resources: { cpus: 4, mem: 4096, disk: 10_000, gpus: 0, ports: [{ begin: 31000, end: 31099 }] },
      attributes: {},
      tasks: [],
      version: 'test',
      epoch: 0,
      capabilities: [],
      taskSpecs: [],
      agentSecret: '',
      portsInUse: [],
      bootId: '',
      ...overrides,
    };
  }

  /** Opens the stream, registers, and resolves with the Registered answer. */
  async connect(): Promise<Received<'registered'>> {
    this.ended = false;
    this.failure = undefined;
    const stream = this.client.connect();
    this.stream = stream;
    stream.on('data', (m: MasterMessage) => {
      if (this.stream !== stream) return;
      if (m.message?.$case === 'ping' && this.answerPings) this.send({ $case: 'pong', value: { nonce: m.message.value.nonce } });
      this.inbox.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    const onEnd = () => {
      if (this.stream !== stream) return;
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    };
    stream.on('end', onEnd);
    stream.on('error', (e: ServiceError) => {
      if (this.stream === stream) this.failure = e;
      onEnd();
    });
    this.send({ $case: 'register', value: this.register });
    const registered = await this.next('registered');
    this.register.agentId = registered.agentId;
    // Like a real agent, keep the secret and prove itself with it from now on.
    if (registered.agentSecret !== '') this.register.agentSecret = registered.agentSecret;
    return registered;
  }

  /** Sends one message. */
  send(message: NonNullable<AgentMessage['message']>): void {
    this.stream?.write({ message });
  }

  /** Sends a task status and returns its uuid. */
  status(taskId: string, state: TaskState, extra: Partial<TaskStatus> = {}): string {
    const uuid = newId();
    this.send({ $case: 'status', value: TaskStatus.fromPartial({ uuid, taskId, state, timestamp: new Date(), ...extra }) });
    return uuid;
  }

  /** Waits for (and removes from the inbox) the next message of a kind. */
  async next<C extends Body['$case']>(kind: C, timeoutMs = 5000, match: (v: Received<C>) => boolean = () => true): Promise<Received<C>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.message?.$case === kind && match(m.message.value as Received<C>));
      if (i >= 0) {
        const [m] = this.inbox.splice(i, 1);
        return { ...(m?.message?.value as object), epoch: m?.epoch ?? 0 } as Received<C>;
      }
      if (this.ended) throw this.failure ?? new Error(`stream ended while waiting for ${kind}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${kind}; inbox: ${this.inbox.map((m) => m.message?.$case).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Launches in the inbox right now, removed. */
  drain<C extends Body['$case']>(kind: C): Received<C>[] {
    const out: Received<C>[] = [];
    for (let i = this.inbox.length - 1; i >= 0; i--) {
      const m = this.inbox[i];
      if (m?.message?.$case === kind) {
        out.unshift({ ...(m.message.value as object), epoch: m.epoch } as Received<C>);
        this.inbox.splice(i, 1);
      }
    }
    return out;
  }

  /** Drops the connection without a goodbye (the stream is cancelled). */
  disconnect(): void {
    this.stream?.cancel();
    this.stream = undefined;
  }

  /** Closes the client channel. */
  close(): void {
    this.disconnect();
    this.client.close();
  }
}

/** Reports RUNNING for a launched task and waits for the ack. */
export async function run(agent: FakeAgent, taskId: string, pid = 4242): Promise<void> {
  const uuid = agent.status(taskId, TaskState.TASK_STATE_RUNNING, { pid });
  await agent.next('ack', 5000, (a) => a.uuid === uuid);
}
