/**
 * Which roles may use which part of the master's APIs. Until the finer
 * roles land (admin, operator, viewer), clients may do everything a client
 * can, masters may too (HA masters will proxy to the leader), and agents
 * may only hold their session. Anything not listed here is refused to every
 * certificate: a new service or route must be added on purpose.
 */
import type { Role } from './caller.js';
import type { Allowed } from './require-role.js';

const CLIENTS: readonly Role[] = ['client', 'master'];

/** gRPC services by full name. */
const GRPC_SERVICES: ReadonlyMap<string, Allowed> = new Map<string, Allowed>([
  ['drover.v1.AgentService', ['agent']],
  ['drover.v1.Apps', CLIENTS],
  ['drover.v1.Tasks', CLIENTS],
  ['drover.v1.Agents', CLIENTS],
  ['drover.v1.Cluster', CLIENTS],
  ['drover.v1.Deployments', CLIENTS],
  ['drover.v1.Events', CLIENTS],
  // Generic tooling (probes, grpcurl) works for every holder of a cluster certificate.
  ['grpc.health.v1.Health', 'any-certificate'],
  ['grpc.reflection.v1.ServerReflection', 'any-certificate'],
  ['grpc.reflection.v1alpha.ServerReflection', 'any-certificate'],
]);

/** Who may call the gRPC method at `path` ("/drover.v1.Apps/Deploy"); nobody when its service is unknown. */
export function grpcAccess(path: string): Allowed {
  const service = /^\/([^/]+)\//.exec(path)?.[1];
  return (service !== undefined ? GRPC_SERVICES.get(service) : undefined) ?? [];
}

/** HTTP routes anyone may use, with or without a certificate (load balancers probe them). */
export const PUBLIC_HTTP_ROUTES: ReadonlySet<string> = new Set(['/ping']);

/** Who may use an HTTP route other than the public ones (/v2/*, /metrics, and any later one). */
export const HTTP_ACCESS: Allowed = CLIENTS;
