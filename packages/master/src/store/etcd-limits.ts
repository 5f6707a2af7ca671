/**
 * What the etcd store needs of etcd's request limits, and how it says so.
 *
 * A batch is one transaction: the Store port promises atomic batches, and
 * the master commits a whole deployment's tasks (the conformance suite:
 * 20,000) at once. etcd's defaults refuse that (--max-txn-ops 128,
 * --max-request-bytes 1.5 MiB), and splitting a batch over several
 * transactions would let a crash leave half of it behind. So Drover's
 * masters require members started with the flags below; the test kit, the
 * install script and docs/ARCHITECTURE.md pass the same ones.
 *
 * Why 9 MiB and no more: etcd writes each request as one WAL entry and, from
 * 3.4.2x on, refuses to read back an entry of 10 MiB or more ("wal: max
 * entry size limit exceeded"), so a larger request could be accepted and
 * then stop the member at its next restart. A batch beyond 9 MiB (some
 * 25,000 task records) cannot be written atomically and is refused whole.
 *
 * A member started with smaller limits is found at open (a transaction of
 * PROBE_TXN_OPS operations, which the default of 128 refuses) or at the
 * first refusal, and the error names the flag and the value to set.
 */
import { Code, DroverError } from '@drover/common';

/** Operations one transaction may hold (etcd's --max-txn-ops). */
export const ETCD_MAX_TXN_OPS = 100_000;
/** Bytes one request may hold (etcd's --max-request-bytes): 9 MiB. */
export const ETCD_MAX_REQUEST_BYTES = 9 * 1024 * 1024;
/** The flags every etcd member serving Drover's masters is started with. */
export const ETCD_MEMBER_FLAGS: readonly string[] = [`--max-txn-ops=${ETCD_MAX_TXN_OPS}`, `--max-request-bytes=${ETCD_MAX_REQUEST_BYTES}`];
/** Operations in the transaction that checks the limit at open: more than etcd's default allows. */
export const PROBE_TXN_OPS = 1_000;

/** etcd refused a transaction for its size: its members run with smaller limits than Drover needs. */
export class EtcdLimitError extends DroverError {
  override name = 'EtcdLimitError';
  constructor(
    /** The members' client URLs. */
    readonly endpoints: readonly string[],
    /** Operations in the refused transaction. */
    readonly ops: number,
    /** Its size in bytes (about). */
    readonly bytes: number,
    cause?: unknown,
  ) {
    super(
      `etcd (${endpoints.join(',')}) refused a transaction of ${ops} operations and ${bytes} bytes, which Drover writes atomically: ` +
        `start every etcd member with ${ETCD_MEMBER_FLAGS.join(' ')} (etcd's defaults are --max-txn-ops=128 and --max-request-bytes=1572864)`,
      Code.FailedPrecondition,
      { cause },
    );
  }
}

/** A batch too large for any etcd Drover supports: it cannot be written atomically. */
export class BatchTooLargeError extends DroverError {
  override name = 'BatchTooLargeError';
  constructor(
    readonly ops: number,
    readonly bytes: number,
  ) {
    super(
      `a batch of ${ops} records and ${bytes} bytes exceeds what one etcd transaction may hold (${ETCD_MAX_TXN_OPS} operations, ${ETCD_MAX_REQUEST_BYTES} bytes); ` +
        'it is refused whole rather than written in parts',
      Code.ResourceExhausted,
    );
  }
}
