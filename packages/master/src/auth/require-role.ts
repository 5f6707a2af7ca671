/**
 * The one check of who may do what, used by the gRPC interceptor and the
 * HTTP hook alike, so both APIs refuse the same callers the same way:
 * UNAUTHENTICATED (HTTP 401) when there is no certificate to judge,
 * PERMISSION_DENIED (HTTP 403) when the certificate's role is not allowed.
 */
import { Code, DroverError } from '@drover/common';
import { type Caller, describeCaller, type Role } from './caller.js';

/** Who may make a call: certificates of these roles, or any certificate from the cluster's CA. */
export type Allowed = readonly Role[] | 'any-certificate';

/** Throws unless `caller` may do `what` ("POST /v2/apps", "call drover.v1.Apps/Deploy"). */
export function requireRole(caller: Caller, allowed: Allowed, what: string): void {
  switch (caller.kind) {
    case 'plaintext':
      return;
    case 'anonymous':
      throw new DroverError(`${what} needs a client certificate from the cluster's CA`, Code.Unauthenticated);
    case 'certificate':
      if (allowed === 'any-certificate') return;
      if (caller.role !== undefined && allowed.includes(caller.role)) return;
      if (allowed.length === 0) throw new DroverError(`no certificate may ${what}`, Code.PermissionDenied);
      throw new DroverError(
        `${describeCaller(caller)} may not ${what}: that needs role ${allowed.join(' or ')}` +
          (caller.role === undefined ? ' (scripts/gen-certs puts the role into the certificate as O=drover, OU=<role>)' : ''),
        Code.PermissionDenied,
      );
  }
}
