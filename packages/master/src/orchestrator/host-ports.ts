/**
 * Which host ports an app's tasks need and what they need to run. A BRIDGE
 * container publishes its ports with portMappings (hostPort 0 = any); every
 * other task takes its host ports from portDefinitions.
 */
import { ContainerType, DockerNetwork, type AppSpec } from '@drover/proto';

/** One host port a task holds, in the order the task sees them (PORT0..). */
export interface HostPortNeed {
  readonly port: number;
  readonly name: string;
  readonly protocol: string;
}

/** The host ports a task of `spec` needs. */
export function hostPortNeeds(spec: AppSpec): HostPortNeed[] {
  const docker = spec.container?.type === ContainerType.CONTAINER_TYPE_DOCKER ? spec.container.docker : undefined;
  if (docker?.network === DockerNetwork.DOCKER_NETWORK_BRIDGE) {
    return docker.portMappings.map((m) => ({ port: m.hostPort, name: m.name, protocol: m.protocol || 'tcp' }));
  }
  return spec.portDefinitions.map((p) => ({ port: p.port, name: p.name, protocol: p.protocol || 'tcp' }));
}

/** Capabilities an agent needs to run a task of `spec`. */
export function requiredCapabilities(spec: AppSpec): string[] {
  return spec.container?.type === ContainerType.CONTAINER_TYPE_DOCKER ? ['docker'] : [];
}
