/**
 * One agent's open Connect stream, from the master's side: stamps every
 * outgoing message with the master's epoch, pings on a timer, and tracks
 * when the agent was last heard from.
 */
import type { Logger } from '@drover/common';
import type { AgentMessage, MasterMessage } from '@drover/proto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { EpochSource } from '../leadership/master-epoch.js';

/** The body of a master message, without the epoch. */
export type MasterCommand = NonNullable<MasterMessage['message']>;

/** A live Connect stream of one agent. */
export class AgentSession {
  private pingTimer: NodeJS.Timeout | undefined;
  private nonce = 0;
  private closed = false;
  /** The agent's id once registered. */
  agentId: string | undefined;

  constructor(
    private readonly stream: ServerDuplexStream<AgentMessage, MasterMessage>,
    /** Read at every send: the master's epoch may be raised while the stream is open. */
    private readonly epoch: EpochSource,
    private readonly log: Logger,
  ) {}

  /** True until the stream ended or was closed. */
  get open(): boolean {
    return !this.closed && !this.stream.destroyed && this.stream.writable;
  }

  /** Sends one command stamped with the epoch; false if the stream is gone. */
  send(command: MasterCommand): boolean {
    if (!this.open) return false;
    try {
      this.stream.write({ epoch: this.epoch.current, message: command });
      return true;
    } catch (error) {
      this.log.warn({ err: error, agentId: this.agentId }, 'failed to write to agent stream');
      return false;
    }
  }

  /** Starts pinging every `intervalMs`. */
  startPinging(intervalMs: number): void {
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
