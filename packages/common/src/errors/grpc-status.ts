/**
 * DroverError <-> gRPC status, in one place for servers and clients.
 *
 * Validation problems travel the standard way: a google.rpc.Status holding a
 * google.rpc.BadRequest, in the `grpc-status-details-bin` trailer. Any gRPC
 * client (grpcurl, Go, Java) can read them; Drover's own client turns them
 * back into a ValidationError with the same violations.
 */
import { BadRequest, RpcStatus } from '@drover/proto';
import { Metadata, type ServiceError, status as GrpcStatus } from '@grpc/grpc-js';
import { Code } from './code.js';
import { DroverError } from './drover-error.js';
import { NotLeaderError } from './not-leader-error.js';
import { connectFailureOf, failedBeforeSending, UnreachableError } from './unreachable-error.js';
import { type FieldViolation, ValidationError } from './validation-error.js';

const DETAILS_KEY = 'grpc-status-details-bin';
/**
 * Set on every status a Drover server sends, so a client can tell a server
 * that answered UNAVAILABLE (e.g. "agent x is not connected") from a master
 * it could not reach at all.
 */
const FROM_SERVER_KEY = 'drover-status-from-server';
/** Set on a standby's refusal (NotLeaderError), with or without a known leader. */
export const STANDBY_KEY = 'drover-standby';
/** The leader's gRPC host:port on a standby's refusal, when the standby knows it. */
export const LEADER_KEY = 'drover-leader';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

/** What a grpc-js handler passes to its callback (or stream.destroy) to fail a call. */
export interface GrpcErrorPayload {
  code: number;
  details: string;
  metadata: Metadata;
}

/** Renders any error as a gRPC status; unknown errors become INTERNAL without leaking internals. */
export function toGrpcError(reason: unknown): GrpcErrorPayload {
  const err = reason instanceof DroverError ? reason : DroverError.from(reason, Code.Internal);
  const metadata = new Metadata();
  metadata.set(FROM_SERVER_KEY, '1');
  if (err instanceof NotLeaderError) {
    metadata.set(STANDBY_KEY, '1');
    if (err.leaderAddress !== '') metadata.set(LEADER_KEY, err.leaderAddress);
  }
  if (err instanceof ValidationError) {
    const badRequest = BadRequest.encode({
      fieldViolations: err.violations.map((v) => ({ field: v.path, description: v.message })),
    }).finish();
    const status = RpcStatus.encode({
      code: err.code,
      message: err.rawMessage,
      details: [{ typeUrl: BAD_REQUEST_TYPE, value: Buffer.from(badRequest) }],
    }).finish();
    metadata.set(DETAILS_KEY, Buffer.from(status));
  }
  return { code: err.code, details: err.rawMessage, metadata };
}

/** Turns a failed gRPC call back into a DroverError (a ValidationError when it carries BadRequest). */
export function fromGrpcError(error: unknown, target?: string): DroverError {
  if (error instanceof DroverError) return error;
  if (!isServiceError(error)) return DroverError.from(error);
  const code = (error.code in Code ? error.code : Code.Unknown) as Code;
  const raw = error.metadata?.get(DETAILS_KEY)[0];
  if (raw instanceof Buffer) {
    try {
      const status = RpcStatus.decode(raw);
      const violations: FieldViolation[] = status.details
        .filter((d) => d.typeUrl === BAD_REQUEST_TYPE)
        .flatMap((d) => BadRequest.decode(d.value).fieldViolations)
        .map((v) => ({ path: v.field, message: v.description }));
      if (violations.length > 0) return new ValidationError(violations, 'rejected by the master');
    } catch {
      // A malformed trailer is not worth hiding the status for: fall through.
    }
  }
  if (code === Code.Unavailable && (error.metadata?.get(STANDBY_KEY).length ?? 0) > 0) {
    const leader = error.metadata.get(LEADER_KEY)[0];
    return new NotLeaderError(typeof leader === 'string' ? leader : '', target === undefined ? undefined : `the master at ${target}`, { cause: error });
  }
  if (code === Code.Unavailable && target !== undefined && (error.metadata?.get(FROM_SERVER_KEY).length ?? 0) === 0) {
    const { reason, failure } = connectFailureOf(error.details);
    return new UnreachableError(target, reason, failure, { cause: error, neverSent: failedBeforeSending(error.details) });
  }
  return new DroverError(error.details || error.message, code, { cause: error });
}

function isServiceError(e: unknown): e is ServiceError {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as ServiceError).code === 'number' && 'details' in e;
}

/** gRPC's status enum, re-exported for servers that need a literal code. */
export { GrpcStatus };
