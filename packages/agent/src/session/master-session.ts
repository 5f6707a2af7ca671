/**
 * The agent's one connection to the master: an AgentService.Connect stream
 * the agent dials and keeps open.
 *
 * Each connection attempt is a "generation". Register is the first message
 * of every generation; commands are only acted on after their epoch passed
 * the fence, one message at a time, in arrival order. Anything that ends a
 * generation (stream error or end, NotLeader, a stale epoch, silence from the
 * master for three heartbeat intervals, no answer to Register) tears it down
 * and schedules the next one with exponential backoff; events of older
 * generations are ignored, so a late callback can never act on a dead stream.
 *
 * NotLeader redirects the next attempt to the leader it names (at once the
 * first time, with backoff if redirects keep coming), even when its epoch is
 * stale: it commands nothing, a standby may not know the leader's epoch, and
 * the leader it names must pass the fence in turn. Any other loss (the
 * master died, a standby that knows no leader) moves on to the next
 * configured master, round-robin, with the backoff: the leader found by
 * redirect may be gone, and any configured master that is up either leads
 * or names who does.
 */
import { Code, DroverError, fromGrpcError, type GrpcDial, type Logger, timerDelay, UnreachableError } from '@drover/common';
import {
  type AgentMessage,
  AgentServiceClient,
  type MasterMessage,
  type Register,
} from '@drover/proto';
import { type ClientDuplexStream, type ServiceError, status } from '@grpc/grpc-js';
import type { Backoff } from './backoff.js';
import type { EpochFence } from './epoch-fence.js';
import { failureLogLevel } from './reconnect-log.js';

/** The longest pause between connection attempts while following a leader or moving between several masters. */
export const FAILOVER_MAX_DELAY_MS = 1000;

/** A master command the session passes on once its epoch is admitted. */
export type MasterCommand = Extract<NonNullable<MasterMessage['message']>, { $case: 'launch' | 'kill' | 'ack' }>;

/** A file request (or its cancel) the session passes on once its epoch is admitted. */
export type FileMessage = Extract<NonNullable<MasterMessage['message']>, { $case: 'fileRequest' | 'fileCancel' }>;

/**
 * The stream a master request arrived on, for answering it: answers go back
 * on that stream only, never on a later one (request ids mean nothing to
 * another master), and whoever answers learns when it ends.
 */
export interface ReplyChannel {
  /** False once the stream ended. */
  readonly open: boolean;
  /** Sends on the stream; false (nothing sent) once it ended. */
  send(message: AgentMessage): boolean;
  /** Resolves once the stream takes more without buffering, or has ended (flow control for bulk answers). */
  writable(): Promise<void>;
  /** Calls `listener` once when the stream ends (at once if it already has); the result removes it. */
  onClose(listener: () => void): () => void;
}

/** What the session asks of the rest of the agent. */
export interface SessionHandler {
  /** Builds the Register message that opens each connection (it may first ask around, e.g. ping Docker). */
  register(): Register | Promise<Register>;
  /**
   * The master accepted the agent under `agentId`, and issued it `secret`
   * unless that is empty: keep both. Runs before the session counts as registered.
   */
  registered(agentId: string, secret: string): Promise<void>;
  /** The session just became registered: send what is pending (synchronously, before anything newer). */
  ready(): void;
  /** A launch, kill or ack whose epoch was admitted. */
  command(command: MasterCommand): void;
  /** A master spoke on a registered stream (any admitted message): the agent is in touch. */
  heard?(): void;
  /** A file request or cancel whose epoch was admitted; answer through `reply`. Must not block. */
  files?(message: FileMessage, reply: ReplyChannel): void;
}

/** How a MasterSession connects. */
export interface MasterSessionOptions {
  /** host:port of every configured master (at least one), tried in turn. */
  masters: readonly string[];
  /** Credentials and channel options for dialing a master (the configured one, or a leader it names). */
  dial(target: string): GrpcDial;
  /** Highest-epoch fence. */
  fence: EpochFence;
  /** Reconnect delays. */
  backoff: Backoff;
  /** The rest of the agent. */
  handler: SessionHandler;
  /** Logger (a child named "master-session" is taken). */
  logger: Logger;
  /** Give up on a connection whose Register got no answer after this long; default 10 000 ms. */
  registerTimeoutMs?: number;
}

/** Silence for this many heartbeat intervals means the stream is dead. */
export const MISSED_HEARTBEATS = 3;

type Stream = ClientDuplexStream<AgentMessage, MasterMessage>;

/** Keeps the agent connected and registered to the leading master. */
export class MasterSession {
  private readonly log: Logger;
  private target: string;
  /** The configured master tried last; the next loss without a redirect moves past it. */
  private configured = 0;
  private client: AgentServiceClient | undefined;
  private clientTarget = '';
  private call: Stream | undefined;
  private channel: StreamChannel | undefined;
  private generation = 0;
  private isRegistered = false;
  private redirectsInARow = 0;
  /** Attempts in a row that ended without registering (see reconnect-log.ts). */
  private failures = 0;
  private inbox: Promise<void> = Promise.resolve();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private stopped = false;

  constructor(private readonly options: MasterSessionOptions) {
    this.log = options.logger.child({ component: 'master-session' });
    if (options.masters.length === 0) throw new DroverError('the agent needs at least one master address', Code.InvalidArgument);
    this.target = options.masters[0] as string;
  }

  /** True while a registered stream is up. */
  get registered(): boolean {
    return this.isRegistered;
  }

  /** Connects (in the background; reconnects until stopped). */
  start(): void {
    this.connect();
  }

  /** Sends a message on the registered stream; false (nothing sent) when there is none. */
  send(message: AgentMessage): boolean {
    if (!this.isRegistered || this.call === undefined) return false;
    this.call.write(message);
    return true;
  }

  /** Closes the stream and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.reconnectTimer);
    this.teardown();
    this.client?.close();
    this.client = undefined;
    await this.inbox;
  }

  private connect(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    if (this.client === undefined || this.clientTarget !== this.target) {
      this.client?.close();
      const { credentials, channelOptions } = this.options.dial(this.target);
      this.client = new AgentServiceClient(this.target, credentials, channelOptions);
      this.clientTarget = this.target;
    }
    // Once per streak of failures: retries are summed up by lost().
    this.log[this.failures === 0 ? 'info' : 'debug']({ master: this.target, generation }, 'connecting to master');
    const call = this.client.connect();
    this.call = call;
    this.channel = new StreamChannel(call);
    call.on('data', (message: MasterMessage) => {
      if (generation !== this.generation) return;
      this.lastHeard = Date.now();
      this.inbox = this.inbox.then(() => this.receive(generation, message)).catch((e: unknown) => {
        this.log.error({ err: e }, 'failed to handle a master message');
      });
    });
    call.on('error', (e: Error) => {
      if (generation === this.generation) this.refused(e);
      const err = fromGrpcError(e, this.target);
      this.lost(generation, err instanceof UnreachableError ? err.reason : `stream failed: ${err.rawMessage}`);
    });
    call.on('end', () => this.lost(generation, 'master closed the stream'));
    this.lastHeard = Date.now();
    this.armWatchdog(generation, this.options.registerTimeoutMs ?? 10_000, 'no answer to Register');
    Promise.resolve()
      .then(() => this.options.handler.register())
      .then(
        (register) => {
          if (generation === this.generation) call.write({ message: { $case: 'register', value: register } });
        },
        (e: unknown) => this.lost(generation, `cannot build Register: ${e instanceof Error ? e.message : String(e)}`),
      );
  }

  private async receive(generation: number, message: MasterMessage): Promise<void> {
    if (generation !== this.generation) return;
    const { fence, handler } = this.options;
    const body = message.message;
    if (body?.$case === 'notLeader' && message.epoch < fence.highest) {
      // Not a command: a standby may not know the leader's epoch. Following
      // it is safe because the leader it names must pass the fence itself.
      this.follow(generation, body.value.leaderAddress);
      return;
    }
    if (!(await fence.admit(message.epoch))) {
      this.log.warn(
        { epoch: message.epoch, highest: fence.highest, kind: message.message?.$case },
        'refusing a message from a master with a stale epoch',
      );
      this.lost(generation, `stale master epoch ${message.epoch} < ${fence.highest}`);
      return;
    }
    if (generation !== this.generation) return;
    if (this.isRegistered) handler.heard?.();
    switch (body?.$case) {
      case undefined:
        return;
      case 'registered': {
        await handler.registered(body.value.agentId, body.value.agentSecret);
        if (generation !== this.generation) return;
        this.isRegistered = true;
        handler.heard?.();
        this.redirectsInARow = 0;
        this.failures = 0;
        this.options.backoff.reset();
        const interval = body.value.heartbeatIntervalMs;
        clearTimeout(this.watchdog);
        if (interval > 0) this.armWatchdog(generation, MISSED_HEARTBEATS * interval, 'master went silent');
        this.log.info({ agentId: body.value.agentId, master: this.target, epoch: message.epoch }, 'registered');
        handler.ready();
        return;
      }
      case 'notLeader':
        this.follow(generation, body.value.leaderAddress);
        return;
      case 'ping':
        this.call?.write({ message: { $case: 'pong', value: { nonce: body.value.nonce } } });
        return;
      case 'launch':
      case 'kill':
      case 'ack':
        handler.command(body);
        return;
      case 'fileRequest':
      case 'fileCancel':
        if (this.channel !== undefined) handler.files?.(body, this.channel);
        return;
    }
  }

  /**
   * Says so loudly when the master refused this agent: the session keeps
   * retrying (the operator may fix the master's side), but someone must
   * look. A second session is refused while the master still holds the
   * first (after a crash, until it notices the old connection is gone).
   */
  private refused(e: Error): void {
    const code = (e as Partial<ServiceError>).code;
    if (code === status.ALREADY_EXISTS) {
      this.log.warn({ master: this.target, why: e.message }, 'the master still holds an earlier session of this agent; retrying');
    } else if (code === status.UNAUTHENTICATED || code === status.PERMISSION_DENIED) {
      this.log.error({ master: this.target, why: e.message }, 'the master refused this agent (certificate, hostname or agent secret); retrying');
    }
  }

  /** NotLeader: reconnect to the leader it names, or to the configured master when it names none. */
  private follow(generation: number, leader: string): void {
    this.log.info({ master: this.target, leader }, 'master is not the leader');
    this.lost(generation, 'not the leader', leader === '' ? undefined : leader);
  }

  /** Ends a generation (once) and schedules the next connection. */
  private lost(generation: number, why: string, redirect?: string): void {
    if (generation !== this.generation || this.stopped) return;
    this.generation++;
    const wasRegistered = this.isRegistered;
    const failed = this.target;
    this.teardown();
    let delay: number;
    if (redirect !== undefined) {
      this.target = redirect;
      delay = this.redirectsInARow++ === 0 ? 0 : this.options.backoff.next();
    } else {
      this.target = this.nextConfigured(failed);
      delay = this.options.backoff.next();
    }
    // Among several masters a failover is under way, not an outage: standbys
    // name the dead leader until its lease ends, and a new leader gives the
    // agents only so long to come back. Full backoff (up to seconds) between
    // masters would make an agent miss it; one try per master a second is cheap.
    if (this.options.masters.length > 1 || redirect !== undefined) delay = Math.min(delay, FAILOVER_MAX_DELAY_MS);
    if (wasRegistered || redirect !== undefined) {
      this.failures = 0;
      this.log[wasRegistered ? 'warn' : 'info']({ why, next: this.target, delayMs: delay }, 'disconnected from master');
    } else {
      const level = failureLogLevel(++this.failures);
      const message = level === 'warn' ? `cannot reach the master at ${failed} (${this.failures} attempts in a row); still trying` : 'disconnected from master';
      this.log[level]({ master: failed, why, attempts: this.failures, delayMs: delay }, message);
    }
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /**
   * The configured master to try after losing `failed`: the next after the
   * one tried last. A leader reached by redirect that is lost starts over
   * at the configured master after the one that redirected there.
   */
  private nextConfigured(failed: string): string {
    const { masters } = this.options;
    const at = masters.indexOf(failed);
    if (at >= 0) this.configured = at;
    this.configured = (this.configured + 1) % masters.length;
    return masters[this.configured] as string;
  }

  private teardown(): void {
    this.isRegistered = false;
    clearTimeout(this.watchdog);
    const call = this.call;
    this.call = undefined;
    this.channel?.close();
    this.channel = undefined;
    if (call !== undefined) {
      call.end();
      call.cancel();
    }
  }

  /** Ends the generation when nothing arrives for `silenceMs` (checked every silenceMs / 3). */
  private armWatchdog(generation: number, silenceMs: number, why: string): void {
    clearTimeout(this.watchdog);
    const check = () => {
      if (generation !== this.generation) return;
      if (Date.now() - this.lastHeard >= silenceMs) {
        this.lost(generation, `${why} for ${silenceMs} ms`);
        return;
      }
      this.watchdog = setTimeout(check, timerDelay(Math.max(10, silenceMs / 3)));
    };
    // silenceMs follows the heartbeat interval the master sent (a uint32 of ms): clamped for the timer.
    this.watchdog = setTimeout(check, timerDelay(Math.max(10, silenceMs / 3)));
  }
}

/** The ReplyChannel of one stream generation; closed when the generation is torn down. */
class StreamChannel implements ReplyChannel {
  private closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly call: Stream) {}

  get open(): boolean {
    return !this.closed;
  }

  send(message: AgentMessage): boolean {
    if (this.closed) return false;
    this.call.write(message);
    return true;
  }

  writable(): Promise<void> {
    if (this.closed || !this.call.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.call.off('drain', done);
        forget();
        resolve();
      };
      this.call.once('drain', done);
      const forget = this.onClose(done);
    });
  }

  onClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}
