/**
 * What to do when the master cannot be reached, by why (the UnreachableError's
 * classified failure) and whether this client dialed with TLS. The usual
 * mistakes each get their own advice: no master there, the HTTP port given
 * as the gRPC port, a TLS master dialed without certificates (or the other
 * way round), certificates from another cluster.
 */
import type { ConnectFailure, UnreachableError } from '@drover/common';
import { HintedError } from './cli-errors.js';

const TLS_FLAGS = '--tls-ca, --tls-cert and --tls-key (or DROVER_TLS_CA, DROVER_TLS_CERT and DROVER_TLS_KEY)';

/** Advice per failure: for any dial, or for a plaintext and a TLS one; none: nothing useful to add. */
const HINTS: Record<ConnectFailure, { any?: string; plaintext?: string; tls?: string }> = {
  refused: {
    any: 'is a master running there? Start one (drover dev for a local cluster) or give its gRPC address with --master HOST:PORT or DROVER_MASTER',
  },
  unresolved: { any: 'check the host name in --master (or DROVER_MASTER)' },
  'not-grpc': {
    plaintext: "something that is not a gRPC server answered there, often the master's HTTP port (default 5050): give its gRPC port (default 5053) with --master HOST:PORT",
  },
  closed: {
    plaintext: `the master closed the connection at once, as a master that requires TLS does: give ${TLS_FLAGS}`,
    tls: "the master closed the connection during the TLS handshake: it refuses this client's certificate; use --tls-cert and --tls-key made with the cluster's CA (scripts/gen-certs)",
  },
  'tls-mismatch': {
    tls: "no TLS server answered there: the master may run without TLS (drop the --tls-* flags on loopback), or the port is not the master's gRPC port (default 5053)",
  },
  certificate: {
    tls: "the master's certificate was not accepted: --tls-ca must be the cluster's CA, and the master certificate must name the address dialed (scripts/gen-certs --host NAME_OR_IP)",
  },
  other: {},
};

/** The advice for a failure to reach the master, if there is any. */
export function connectionHint(failure: ConnectFailure, tls: boolean): string | undefined {
  const hints = HINTS[failure];
  return hints.any ?? (tls ? hints.tls : hints.plaintext);
}

/** The error with its advice attached (as a "hint:" line), or as it is when there is none. */
export function withConnectionHint(err: UnreachableError, tls: boolean): UnreachableError | HintedError {
  const hint = connectionHint(err.failure, tls);
  return hint === undefined ? err : new HintedError(err, hint);
}
