/**
 * One agent's open Connect stream, from the master's side: stamps every
 * outgoing message with the master's epoch, pings on a timer, and tracks
 * when the agent was last heard from.
 */
import type { Logger } from '@drover/common';
import type { AgentMessage, MasterMessage } from '@drover/proto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { EpochSource } from '../leadership/leadership.js';

/**
 * A session not heard from for this many ping intervals counts as dead. The
 * agent gives up on a silent master after as many (MISSED_HEARTBEATS in the
 * agent's master-session.ts) and reconnects; by then the master must let it
 * back in even when its old connection is half-open and TCP has not noticed.
 */
export const STALE_AFTER_PINGS = 3;

/** The body of a master message, without the epoch. */
export type MasterCommand = NonNullable<MasterMessage['message']>;

/** A live Connect stream of one agent. */
export class AgentSession {
  private pingTimer: NodeJS.Timeout | undefined;
  private nonce = 0;
  private closed = false;
  private pingIntervalMs = 0;
  private lastHeardAt: number;
  /** The agent's id once registered. */
  agentId: string | undefined;
  /** Where the stream comes from ("ipv4:10.0.0.7:53412"), for logs and refusals. */
  readonly peer: string;

  constructor(
    private readonly stream: ServerDuplexStream<AgentMessage, MasterMessage>,
    /** Read at every send: the master's epoch may be raised while the stream is open. */
    private readonly leadership: EpochSource,
    private readonly log: Logger,
    /** When the stream opened, ms since the epoch. */
    readonly openedAt: number = Date.now(),
  ) {
    this.lastHeardAt = openedAt;
    this.peer = stream.getPeer();
  }

  /** Records that the agent said something on this stream. */
  heard(now: number): void {
    this.lastHeardAt = now;
  }

  /** True once a pinged session has been silent for STALE_AFTER_PINGS intervals. */
  stale(now: number): boolean {
    return this.pingIntervalMs > 0 && now - this.lastHeardAt > STALE_AFTER_PINGS * this.pingIntervalMs;
  }

  /** True until the stream ended or was closed. */
  get open(): boolean {
    return !this.closed && !this.stream.destroyed && this.stream.writable;
  }

  /** Sends one command stamped with the epoch; false if the stream is gone. */
  send(command: MasterCommand): boolean {
    if (!this.open) return false;
    try {
      this.stream.write({ epoch: this.leadership.epoch, message: command });
      return true;
    } catch (error) {
      this.log.warn({ err: error, agentId: this.agentId }, 'failed to write to agent stream');
      return false;
    }
  }

  /** Starts pinging every `intervalMs`. */
  startPinging(intervalMs: number): void {
    this.pingIntervalMs = intervalMs;
    this.pingTimer ??= setInterval(() => this.send({ $case: 'ping', value: { nonce: ++this.nonce } }), intervalMs);
  }

  /** Ends the stream from the master's side. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    try {
      this.stream.end();
    } catch {
      // Already torn down by the transport: nothing left to close.
    }
  }

  /** Stops timers after the agent's side ended. */
  ended(): void {
    this.closed = true;
    clearInterval(this.pingTimer);
  }
}
