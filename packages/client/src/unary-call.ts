/**
 * Turning grpc-js's callback-style unary calls into promises that only ever
 * reject with a DroverError. Conversion happens here, once, so no caller has
 * to know that a ServiceError, a BadRequest trailer or a closed channel exist.
 */
import { fromGrpcError } from '@drover/common';
import { type CallOptions, type ClientUnaryCall, Metadata, type ServiceError } from '@grpc/grpc-js';

/** The four-argument form of a generated unary client method. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Calls one unary method with a deadline; rejects with fromGrpcError(e, target) on any failure. */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, target: string, deadlineMs: number): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    try {
      method(request, new Metadata(), { deadline: Date.now() + deadlineMs }, (error, response) => {
        if (error) reject(fromGrpcError(error, target));
        else resolve(response);
      });
    } catch (error) {
      // grpc-js throws synchronously on a closed channel or a request it cannot serialize.
      reject(fromGrpcError(error, target));
    }
  });
}
