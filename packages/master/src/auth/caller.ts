/**
 * Who is calling the master, as the connection proves it. Under TLS the
 * caller is the holder of a certificate from the cluster's CA, and the
 * certificate's subject says what it may do: scripts/gen-certs writes
 * `O=drover, OU=<role>, CN=<name>`, the Kubernetes way of putting a group
 * and a user into a client certificate (O=system:nodes, CN=system:node:x).
 * The CA signed the subject, so nobody can grant themselves a role without
 * the CA key.
 *
 * Without TLS there is no certificate and no role: the operator chose a
 * network they trust (loopback in dev, or --insecure), and every caller may
 * do everything, as before roles existed. Agents still prove who they are
 * there, with their secret (agents/agent-identity.ts).
 */
import type { PeerCertificate } from 'node:tls';

/** What a certificate lets its holder do. Later issues add admin, operator and viewer. */
export type Role = 'master' | 'agent' | 'client';

/** Every role, in the order messages list them. */
export const ROLES: readonly Role[] = ['master', 'agent', 'client'];

/** The organization (O) every Drover certificate carries; a role is read only under it. */
export const DROVER_ORGANIZATION = 'drover';

/** The party on the other end of one call or request. */
export type Caller =
  /** The port serves no TLS: there is nothing to prove and nothing to check. */
  | { readonly kind: 'plaintext' }
  /** TLS without a certificate the cluster's CA signed (HTTPS only: gRPC refuses such connections in the handshake). */
  | { readonly kind: 'anonymous' }
  /** A certificate from the cluster's CA; `role` is undefined when its subject names none (or several). */
  | { readonly kind: 'certificate'; readonly name: string; readonly role: Role | undefined };

/**
 * The caller of a connection. `secure` says whether the port serves TLS;
 * `certificate` is the peer's certificate, given only once TLS verified it
 * against the cluster's CA.
 */
export function callerOf(secure: boolean, certificate: PeerCertificate | undefined): Caller {
  if (!secure) return { kind: 'plaintext' };
  if (certificate === undefined || certificate.subject === undefined) return { kind: 'anonymous' };
  const subject = certificate.subject as unknown as Record<string, string | string[] | undefined>;
  const organization = single(subject.O);
  const unit = single(subject.OU);
  const role = organization === DROVER_ORGANIZATION ? ROLES.find((r) => r === unit) : undefined;
  return { kind: 'certificate', name: single(subject.CN) ?? '', role };
}

/** How a caller is named in logs and refusals. */
export function describeCaller(caller: Caller): string {
  switch (caller.kind) {
    case 'plaintext':
      return 'a plaintext caller';
    case 'anonymous':
      return 'a caller without a certificate';
    case 'certificate':
      return `certificate "${caller.name}" (${caller.role === undefined ? 'no role' : `role ${caller.role}`})`;
  }
}

// Node gives a repeated subject field (two OUs) as an array: such a subject
// is ambiguous, so it counts as naming no value at all.
function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
