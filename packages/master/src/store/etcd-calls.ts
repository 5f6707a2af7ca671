/**
 * Calls to etcd with a deadline, retried only where a retry cannot do harm,
 * and failures turned into the master's errors.
 *
 * - Every call has a deadline (requestTimeoutMs, and more for a large
 *   write): a member that holds its socket but answers nothing (paused, or
 *   cut off from its quorum) must not hang the master.
 * - Reads are retried, on any member, until the deadline.
 * - Writes are retried only when the call provably never left this process:
 *   no connection to the member it picked (grpc-js says "No connection
 *   established", which the etcd3 client turns into GRPCUnavailableError
 *   with that text and nothing else to go by), or that member's circuit
 *   breaker is open. Any other failure of a write (a timeout, "etcdserver:
 *   request timed out" when quorum is lost, a dropped connection) leaves its
 *   outcome unknown: etcd may still apply it later. Retrying could apply a
 *   batch after a later one, so such a write is reported as EtcdUnknownOutcomeError
 *   and the store takes no more writes (see etcd-store.ts).
 *
 * The etcd3 client's own retries are off (its default retries every
 * recoverable error, writes included); its per-member circuit breaker
 * stays, so a dead member is skipped for 5 s after three failures in a row.
 */
import { Code, DroverError } from '@drover/common';
import { ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError, noop } from 'cockatiel';
import { Etcd3, GRPCDeadlineExceededError, GRPCResourceExhastedError, GRPCUnavailableError, isRecoverableError } from 'etcd3';

/** How long one call may take, by default. */
export const ETCD_REQUEST_TIMEOUT_MS = 5_000;
/**
 * What a write may take beyond that per MiB it carries: a batch of 20,000
 * tasks (7 MiB) took 1.5 to 5 s to commit on one member sharing two cores at
 * a load average of 16, and once missed the 5 s deadline under more load.
 */
const WRITE_MS_PER_MIB = 2_000;
/** Replies up to this size are accepted by default (grpc-js's default is 4 MiB; a page of records may be larger). */
export const ETCD_MAX_REPLY_BYTES = 64 * 1024 * 1024;

/** etcd could not be reached, or did not answer in time. */
export class EtcdUnavailableError extends DroverError {
  override name = 'EtcdUnavailableError';
  constructor(
    /** The members' client URLs. */
    readonly endpoints: readonly string[],
    /** Why, as the client saw it. */
    readonly reason: string,
    cause?: unknown,
  ) {
    super(`etcd (${endpoints.join(',')}) did not answer: ${reason}`, Code.Unavailable, { cause });
  }
}

/** A write whose outcome is unknown: etcd may have applied it, or may still. */
export class EtcdUnknownOutcomeError extends DroverError {
  override name = 'EtcdUnknownOutcomeError';
  constructor(
    readonly endpoints: readonly string[],
    readonly reason: string,
    cause?: unknown,
  ) {
    super(
      `etcd (${endpoints.join(',')}) did not answer: ${reason}. The write may still be applied, so this store takes no more writes: ` +
        'restart the master to reload the state',
      Code.Unavailable,
      { cause },
    );
  }
}

/** Call options with a deadline. */
export interface Deadline {
  readonly deadline: number;
}

/** An etcd client for the members at `endpoints`, with the fault handling described above. */
export function connectEtcd(endpoints: readonly string[], requestTimeoutMs = ETCD_REQUEST_TIMEOUT_MS, maxReplyBytes = ETCD_MAX_REPLY_BYTES): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: requestTimeoutMs,
    faultHandling: {
      global: noop,
      // etcd3's default breaker, counting transport failures only: a reply
      // over the size limit says nothing about the member's health.
      host: () => circuitBreaker(handleWhen(isTrouble), { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(3) }),
    },
    grpcOptions: { 'grpc.max_receive_message_length': maxReplyBytes },
    // A deadline for what etcd3 calls itself (lease grants and revokes); streams have none.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
  });
}

/** Runs calls against one etcd cluster. */
export class EtcdCalls {
  constructor(
    readonly client: Etcd3,
    readonly endpoints: readonly string[],
    readonly requestTimeoutMs = ETCD_REQUEST_TIMEOUT_MS,
  ) {}

  /** A read: retried on any member until the deadline. */
  read<T>(call: (options: Deadline) => Promise<T>): Promise<T> {
    return this.run(call, (error) => isRecoverableError(error) || isBrokenCircuitError(error), this.requestTimeoutMs);
  }

  /**
   * A write: retried only while it provably was never sent. Rejects with
   * EtcdUnknownOutcomeError when it may have been applied, with
   * EtcdUnavailableError when it surely was not, and with etcd's own error
   * (untouched) when etcd refused it. A write of `bytes` gets
   * WRITE_MS_PER_MIB more per MiB than the deadline: etcd replicates,
   * fsyncs and applies it whole before it answers.
   */
  async write<T>(call: (options: Deadline) => Promise<T>, bytes = 0): Promise<T> {
    const timeoutMs = this.requestTimeoutMs + Math.ceil((bytes / (1024 * 1024)) * WRITE_MS_PER_MIB);
    try {
      return await this.run(call, neverSent, timeoutMs);
    } catch (error) {
      if (error instanceof EtcdUnavailableError && !neverSent(error.cause)) throw new EtcdUnknownOutcomeError(this.endpoints, error.reason, error.cause);
      throw error;
    }
  }

  private async run<T>(call: (options: Deadline) => Promise<T>, retryable: (error: Error) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let pause = 25;
    for (;;) {
      try {
        return await call({ deadline });
      } catch (error) {
        if (!(error instanceof Error) || !isTrouble(error)) throw error;
        if (!retryable(error) || Date.now() + pause >= deadline) throw new EtcdUnavailableError(this.endpoints, reasonOf(error, timeoutMs), error);
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, 500);
      }
    }
  }
}

/**
 * True for failures of the transport or of etcd's availability, not
 * refusals of the request. RESOURCE_EXHAUSTED (a message over a size limit,
 * on either side) is a refusal, which etcd3 counts as recoverable: retrying
 * the same request would only be refused again, so the caller gets it.
 */
function isTrouble(error: Error): boolean {
  if (error instanceof GRPCResourceExhastedError) return false;
  return isRecoverableError(error) || isBrokenCircuitError(error) || error instanceof GRPCDeadlineExceededError || error instanceof GRPCUnavailableError;
}

/** True when the call never reached a member (see the top of the file). */
function neverSent(error: unknown): boolean {
  if (isBrokenCircuitError(error)) return true;
  return error instanceof GRPCUnavailableError && /\bNo connection established\b/.test(error.message);
}

function reasonOf(error: Error, timeoutMs: number): string {
  if (error instanceof GRPCDeadlineExceededError) return `request timed out (no answer within ${timeoutMs} ms)`;
  if (isBrokenCircuitError(error)) return 'every member failed repeatedly (circuit open)';
  return error.message.replace(/^\d+ [A-Z_]+: /, '');
}
