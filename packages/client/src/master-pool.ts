/**
 * The masters a client was given, and which of them it calls: the one it
 * believes leads. `run` applies the rules of finding the leader (written
 * out at the top of drover-client.ts) to one call:
 *
 *   refused by a standby naming the leader ─▶ switch to the leader, repeat
 *   refused by a standby knowing no leader ─▶ next master, repeat
 *   no connection established (never sent) ─▶ next master, repeat
 *   connection broke after sending, or the ─▶ next master if the call changes
 *   master cancelled it (shutting down)        nothing, else surface the error
 *   anything else (an answer) ──────────────▶ surface it
 *
 * Each master is tried at most once per call, and redirects are bounded,
 * so two standbys naming each other cannot keep a call going round.
 */
import { Code, DroverError, type GrpcDial, NotLeaderError, parseMasterList, UnreachableError } from '@drover/common';
import { Channel } from '@grpc/grpc-js';

/** One master's channel. */
export interface MasterConnection {
  /** host:port dialed. */
  readonly address: string;
  /** The channel every stub for this master shares. */
  readonly channel: Channel;
}

/** Thrown by an attempt to surface `error` as it is, without trying another master. */
export class Final {
  constructor(readonly error: unknown) {}
}

/** The masters, their channels (opened on first use), and the one in use. */
export class MasterPool {
  private readonly addresses: string[];
  private readonly open = new Map<string, MasterConnection>();
  private currentAddress: string;
  private closed = false;

  constructor(
    masters: string | readonly string[],
    private readonly dial: (address: string) => GrpcDial,
  ) {
    this.addresses = parseMasterList(masters);
    this.currentAddress = this.addresses[0] as string;
  }

  /** Every master given (and leaders learnt since), in order. */
  get masters(): readonly string[] {
    return this.addresses;
  }

  /** The master calls go to now. */
  get current(): string {
    return this.currentAddress;
  }

  /** Runs `attempt` against the leader as the rules find it; see the top of this file. */
  async run<T>(changesNothing: boolean, attempt: (master: MasterConnection) => Promise<T>): Promise<T> {
    const tried = new Set<string>();
    let redirects = 0;
    for (;;) {
      tried.add(this.currentAddress);
      try {
        return await attempt(this.connection(this.currentAddress));
      } catch (error) {
        if (error instanceof Final) throw error.error;
        if (error instanceof NotLeaderError && error.leaderAddress !== '' && redirects < this.addresses.length + 1) {
          redirects++;
          this.follow(error.leaderAddress);
          continue;
        }
        const next = this.addresses.find((a) => !tried.has(a));
        if (next === undefined || !worthAnotherMaster(error, changesNothing)) throw error;
        this.currentAddress = next;
      }
    }
  }

  /** Closes every channel. */
  close(): void {
    this.closed = true;
    for (const c of this.open.values()) c.channel.close();
    this.open.clear();
  }

  private follow(leader: string): void {
    // A leader nobody listed (the cluster grew) is remembered, so the next failover can come back to it.
    if (!this.addresses.includes(leader)) this.addresses.push(leader);
    this.currentAddress = leader;
  }

  private connection(address: string): MasterConnection {
    if (this.closed) throw new Final(new DroverError('this client was closed', Code.FailedPrecondition));
    let c = this.open.get(address);
    if (c === undefined) {
      const { credentials, channelOptions } = this.dial(address);
      c = { address, channel: new Channel(address, credentials, channelOptions) };
      this.open.set(address, c);
    }
    return c;
  }
}

/** Whether a failed call may go to the next master (see the table at the top). */
function worthAnotherMaster(error: unknown, changesNothing: boolean): boolean {
  if (error instanceof NotLeaderError) return true;
  if (error instanceof UnreachableError) return error.neverSent || changesNothing;
  // The client never cancels a call it still waits for (an aborted stream
  // resolves): CANCELLED came from a master shutting down under the call.
  if (error instanceof DroverError && error.code === Code.Canceled) return changesNothing;
  return false;
}
