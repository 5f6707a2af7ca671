/**
 * A gRPC server that could not be reached at all, as opposed to one that
 * answered with an error.
 *
 * grpc-js reports every failure to connect as UNAVAILABLE with one line of
 * text ("No connection established. Last error: <why>. Resolution note:")
 * and drops the underlying error object, so its code (ECONNREFUSED,
 * ERR_HTTP2_ERROR, ERR_SSL_WRONG_VERSION_NUMBER...) survives only inside
 * that text. This file is the one place that reads it: it classifies the
 * reason into a ConnectFailure, so callers branch on a field, never on text.
 * The texts below were each reproduced against a real master (see the
 * table in the test).
 */
import { Code } from './code.js';
import { DroverError } from './drover-error.js';

/**
 * Why a connection failed, as far as the client can tell:
 * - refused: nothing listens at the address (ECONNREFUSED);
 * - unresolved: the host name does not resolve;
 * - not-grpc: something answered that does not speak HTTP/2, e.g. an HTTP/1
 *   server such as the master's HTTP port (grpc-js: "Protocol error");
 * - closed: the server closed the connection before it spoke HTTP/2: a TLS
 *   server dialed in plaintext, or one that refused the client certificate;
 * - tls-mismatch: a TLS client met a server that does not speak TLS;
 * - certificate: the server's certificate was not trusted or did not match;
 * - other: anything else.
 */
export type ConnectFailure = 'refused' | 'unresolved' | 'not-grpc' | 'closed' | 'tls-mismatch' | 'certificate' | 'other';

/** A server could not be reached (Code.Unavailable, and no server said so). */
export class UnreachableError extends DroverError {
  override name = 'UnreachableError';
  constructor(
    /** The host:port dialed. */
    readonly target: string,
    /** What the transport said, without grpc-js's wrapping and timestamp. */
    readonly reason: string,
    /** The reason, classified. */
    readonly failure: ConnectFailure,
    options: { cause?: unknown; neverSent?: boolean } = {},
  ) {
    super(`cannot reach the master at ${target}: ${reason}`, Code.Unavailable, options);
    this.neverSent = options.neverSent ?? false;
  }

  /**
   * True when no connection was ever established, so the call never left
   * the client and may be sent elsewhere whatever it does; false when a
   * connection broke under it (the master may have executed it).
   */
  readonly neverSent: boolean;
}

/** grpc-js's words for a call that failed before any connection carried it. */
export function failedBeforeSending(details: string): boolean {
  return /^(No connection established|Name resolution failed)/.test(details);
}

/** Reasons in the order they are tried; the first that matches wins. */
const FAILURES: ReadonlyArray<readonly [ConnectFailure, RegExp]> = [
  ['refused', /\bECONNREFUSED\b/],
  ['unresolved', /^Name resolution failed|\bENOTFOUND\b|\bEAI_AGAIN\b/],
  // nghttp2's NGHTTP2_ERR_PROTO, as Node's http2 words it.
  ['not-grpc', /^Protocol error$/],
  // grpc-js's own text when the socket closes before the HTTP/2 settings arrive.
  ['closed', /^(Failed to connect|Socket closed|Connection dropped)$/],
  ['tls-mismatch', /wrong version number|packet length too long|unknown protocol/i],
  ['certificate', /certificate|altnames|\bcert\b|unable to verify/i],
];

/**
 * Splits grpc-js's UNAVAILABLE details into the reason and its class. The
 * details look like "No connection established. Last error: Error: <why>
 * (2025-01-01T00:00:00.000Z). Resolution note: " or, before any address
 * resolved, "Name resolution failed for target dns:host:port".
 */
export function connectFailureOf(details: string): { reason: string; failure: ConnectFailure } {
  const last = /Last error: (?:Error: )?(.*?)\s*(?:\. Resolution note:.*)?$/s.exec(details)?.[1] ?? details;
  const reason = last.replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/, '').trim();
  const failure = FAILURES.find(([, pattern]) => pattern.test(reason))?.[0] ?? 'other';
  return { reason, failure };
}
