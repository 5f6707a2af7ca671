/**
 * Role checks on every gRPC call, in one server interceptor, so no service
 * can be served without one (access-policy.ts refuses unknown services).
 * A refused call ends with the refusal's status before its handler runs:
 * nothing a refused caller sends is ever looked at.
 */
import { type Logger, toGrpcError } from '@drover/common';
import type { PeerCertificate } from 'node:tls';
import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  ResponderBuilder,
} from '@grpc/grpc-js';
import { type Caller, callerOf, describeCaller } from '../../auth/caller.js';
import { grpcAccess } from '../../auth/access-policy.js';
import { requireRole } from '../../auth/require-role.js';

/** The caller of a gRPC call; `secure` says whether the server serves TLS. */
export function grpcCaller(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null }, secure: boolean): Caller {
  // grpc-js reports the certificate only of a TLS connection that verified it.
  return callerOf(secure, call.getAuthContext()?.sslPeerCertificate);
}

/** An interceptor refusing every call whose caller's role the policy does not allow. */
export function accessInterceptor(secure: boolean, log: Logger): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const caller = grpcCaller(call, secure);
        try {
          requireRole(caller, grpcAccess(method.path), `call ${method.path.slice(1)}`);
        } catch (error) {
          log.warn({ method: method.path, caller: describeCaller(caller), peer: call.getPeer() }, 'refused a gRPC call');
          const { code, details, metadata: trailers } = toGrpcError(error);
          call.sendStatus({ code, details, metadata: trailers });
          return;
        }
        next(metadata);
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}
