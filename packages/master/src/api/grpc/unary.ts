/**
 * Adapts an async function to a grpc-js unary handler. Every error leaves
 * through toGrpcError, the single place errors become gRPC statuses.
 */
import { toGrpcError } from '@drover/common';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';

/** A grpc-js unary handler running `fn`. */
export function unary<Req, Res>(fn: (request: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toGrpcError(error)),
      );
  };
}
