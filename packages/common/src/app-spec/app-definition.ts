/**
 * Turning a user's app definition (parsed JSON/YAML, or a gRPC AppSpec) into
 * the one normalized AppSpec the master stores. Every problem is collected
 * with its field path before anything is rejected, so a user sees all of
 * them at once; nothing partial ever reaches the store.
 */
import {
  type AppSpec,
  type Container,
  ContainerType,
  DockerNetwork,
  type HealthCheck,
  HealthCheckProtocol,
  healthCheckProtocolCodec,
  KillSelection,
  killSelectionCodec,
  placementStrategyCodec,
  type UnreachableStrategy,
} from '@drover/proto';
import type { z } from 'zod';
import { formatPath, type FieldViolation, ValidationError } from '../errors/validation-error.js';
import { appIdProblem, normalizeAppId } from '../ids.js';
import {
  type AppDefinition,
  appDefinitionSchemas,
  DEFAULT_UNREACHABLE_STRATEGY,
  defaultHealthCheckDelaySeconds,
  UNSUPPORTED_MARATHON_FIELDS,
} from './app-definition-schema.js';
import { constraintProblems, constraintToDefinition, constraintToProto } from './constraints.js';

/** Validates a definition in Marathon's JSON shape; throws ValidationError listing every problem. */
export function parseAppDefinition(input: unknown): AppSpec {
  const violations: FieldViolation[] = [];
  const parsed = appDefinitionSchemas().appDefinitionSchema.safeParse(input, { error: describeIssue });
  if (!parsed.success) violations.push(...parsed.error.issues.flatMap(toViolations));
  violations.push(...crossFieldProblems(input));
  if (violations.length > 0 || !parsed.success) {
    throw new ValidationError(sortByPath(dedupe(violations)), 'invalid app definition');
  }
  const spec = toAppSpec(parsed.data);
  // Marathon's one default port is a host-network port: a BRIDGE container
  // publishes its ports with portMappings instead.
  if (isRecord(input) && input.portDefinitions === undefined && spec.container?.docker?.network === DockerNetwork.DOCKER_NETWORK_BRIDGE) {
    return { ...spec, portDefinitions: [] };
  }
  return spec;
}

/**
 * Validates and normalizes an AppSpec that came over gRPC, by rendering it in
 * the JSON shape and parsing that: one set of rules for every entry point.
 * Over gRPC an empty port list means "no ports" (repeated fields cannot be
 * absent), so the list is always passed explicitly.
 */
export function normalizeAppSpec(spec: AppSpec): AppSpec {
  return parseAppDefinition(appSpecToDefinition(spec));
}

/** An AppSpec in Marathon's JSON shape (the inverse of parseAppDefinition). */
export function appSpecToDefinition(spec: AppSpec): Record<string, unknown> {
  const def: Record<string, unknown> = { id: spec.id };
  if (spec.cmd !== '') def.cmd = spec.cmd;
  if (spec.args.length > 0) def.args = [...spec.args];
  const optionals = [
    'cpus',
    'mem',
    'disk',
    'gpus',
    'instances',
    'taskKillGracePeriodSeconds',
    'backoffSeconds',
    'backoffFactor',
    'maxLaunchDelaySeconds',
    'stopAfterDisconnectSeconds',
  ] as const;
  for (const key of optionals) {
    if (spec[key] !== undefined) def[key] = spec[key];
  }
  def.constraints = spec.constraints.map(constraintToDefinition);
  def.healthChecks = spec.healthChecks.map(healthCheckToDefinition);
  if (spec.upgradeStrategy) {
    const u = spec.upgradeStrategy;
    def.upgradeStrategy = {
      ...(u.minimumHealthCapacity !== undefined ? { minimumHealthCapacity: u.minimumHealthCapacity } : {}),
      ...(u.maximumOverCapacity !== undefined ? { maximumOverCapacity: u.maximumOverCapacity } : {}),
      ...(u.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: u.progressDeadlineSeconds } : {}),
    };
  }
  if (spec.container && spec.container.type !== ContainerType.CONTAINER_TYPE_UNSPECIFIED) def.container = containerToDefinition(spec.container);
  if (spec.fetch.length > 0) {
    def.fetch = spec.fetch.map((f) => ({
      uri: f.uri,
      executable: f.executable,
      ...(f.extract !== undefined ? { extract: f.extract } : {}),
      cache: f.cache,
      ...(f.destPath !== '' ? { destPath: f.destPath } : {}),
      ...(f.sha256 !== '' ? { sha256: f.sha256 } : {}),
    }));
  }
  if (spec.user !== '') def.user = spec.user;
  if (spec.unreachableStrategy) def.unreachableStrategy = unreachableToDefinition(spec.unreachableStrategy);
  // UNSPECIFIED is the default; an unknown number stays visible and fails validation.
  if (spec.killSelection !== KillSelection.KILL_SELECTION_UNSPECIFIED) def.killSelection = killSelectionCodec.name(spec.killSelection) ?? 'UNRECOGNIZED';
  const strategy = placementStrategyCodec.name(spec.placementStrategy);
  if (strategy !== undefined) def.placementStrategy = strategy.toLowerCase();
  def.env = { ...spec.env };
  def.labels = { ...spec.labels };
  def.portDefinitions = spec.portDefinitions.map((p) => ({
    port: p.port,
    protocol: p.protocol === '' ? 'tcp' : p.protocol,
    ...(p.name === '' ? {} : { name: p.name }),
    labels: { ...p.labels },
  }));
  return def;
}

function toAppSpec(def: AppDefinition): AppSpec {
  return {
    id: normalizeAppId(def.id),
    cmd: def.cmd ?? '',
    args: def.args ?? [],
    cpus: def.cpus,
    mem: def.mem,
    disk: def.disk,
    gpus: def.gpus,
    instances: def.instances,
    env: def.env,
    labels: def.labels,
    portDefinitions: def.portDefinitions.map((p) => ({
      port: p.port,
      protocol: p.protocol,
      name: p.name ?? '',
      labels: p.labels,
    })),
    taskKillGracePeriodSeconds: def.taskKillGracePeriodSeconds,
    constraints: (def.constraints as string[][]).map(constraintToProto),
    backoffSeconds: def.backoffSeconds,
    backoffFactor: def.backoffFactor,
    maxLaunchDelaySeconds: def.maxLaunchDelaySeconds,
    placementStrategy: placementStrategyCodec.value(def.placementStrategy === 'spread' ? 'SPREAD' : 'BINPACK'),
    healthChecks: def.healthChecks.map((h) => ({
      protocol: PROTOCOLS[h.protocol],
      path: h.path,
      portIndex: h.port === undefined ? (h.portIndex ?? 0) : undefined,
      port: h.port,
      command: h.command?.value ?? '',
      gracePeriodSeconds: h.gracePeriodSeconds,
      intervalSeconds: h.intervalSeconds,
      timeoutSeconds: h.timeoutSeconds,
      maxConsecutiveFailures: h.maxConsecutiveFailures,
      delaySeconds: h.delaySeconds ?? defaultHealthCheckDelaySeconds(h.protocol),
      ignoreHttp1xx: h.ignoreHttp1xx,
    })),
    upgradeStrategy: { ...def.upgradeStrategy },
    container: def.container ? containerToProto(def.container) : undefined,
    fetch: def.fetch.map((f) => ({
      uri: f.uri,
      executable: f.executable,
      extract: f.extract,
      cache: f.cache,
      destPath: f.destPath ?? '',
      sha256: (f.sha256 ?? '').toLowerCase(),
    })),
    user: def.user ?? '',
    unreachableStrategy:
      def.unreachableStrategy === 'disabled' ? { disabled: true } : { ...def.unreachableStrategy, disabled: false },
    killSelection: killSelectionCodec.value(def.killSelection),
    stopAfterDisconnectSeconds: def.stopAfterDisconnectSeconds,
  };
}

/** A proto unreachable strategy in Marathon's JSON shape ("disabled", or the durations set). */
function unreachableToDefinition(u: UnreachableStrategy): unknown {
  if (u.disabled) return 'disabled';
  return {
    ...(u.inactiveAfterSeconds !== undefined ? { inactiveAfterSeconds: u.inactiveAfterSeconds } : {}),
    ...(u.expungeAfterSeconds !== undefined ? { expungeAfterSeconds: u.expungeAfterSeconds } : {}),
  };
}

/** The network a container gets: BRIDGE when it publishes ports, else HOST, unless set. */
export function dockerNetworkOf(docker: { network?: 'HOST' | 'BRIDGE'; portMappings?: unknown[] } | undefined): 'HOST' | 'BRIDGE' {
  if (docker?.network) return docker.network;
  return docker?.portMappings && docker.portMappings.length > 0 ? 'BRIDGE' : 'HOST';
}

function containerToProto(c: NonNullable<AppDefinition['container']>): Container {
  return {
    type: ContainerType.CONTAINER_TYPE_DOCKER,
    docker: c.docker
      ? {
          image: c.docker.image,
          network: dockerNetworkOf(c.docker) === 'BRIDGE' ? DockerNetwork.DOCKER_NETWORK_BRIDGE : DockerNetwork.DOCKER_NETWORK_HOST,
          privileged: c.docker.privileged,
          forcePullImage: c.docker.forcePullImage,
          parameters: c.docker.parameters.map((p) => ({ ...p })),
          portMappings: (c.docker.portMappings ?? []).map((m) => ({
            containerPort: m.containerPort,
            hostPort: m.hostPort,
            protocol: m.protocol,
            name: m.name ?? '',
            labels: m.labels,
            servicePort: m.servicePort,
          })),
        }
      : undefined,
    volumes: c.volumes.map((v) => ({ ...v })),
  };
}

function containerToDefinition(c: Container): Record<string, unknown> {
  const d = c.docker;
  return {
    type: 'DOCKER',
    ...(d
      ? {
          docker: {
            image: d.image,
            network: d.network === DockerNetwork.DOCKER_NETWORK_BRIDGE ? 'BRIDGE' : 'HOST',
            privileged: d.privileged,
            forcePullImage: d.forcePullImage,
            parameters: d.parameters.map((p) => ({ ...p })),
            portMappings: d.portMappings.map((m) => ({
              containerPort: m.containerPort,
              hostPort: m.hostPort,
              servicePort: m.servicePort,
              protocol: m.protocol || 'tcp',
              ...(m.name !== '' ? { name: m.name } : {}),
              labels: { ...m.labels },
            })),
          },
        }
      : {}),
    volumes: c.volumes.map((v) => ({ containerPath: v.containerPath, hostPath: v.hostPath, mode: v.mode || 'RW' })),
  };
}

const PROTOCOLS: Record<AppDefinition['healthChecks'][number]['protocol'], HealthCheckProtocol> = {
  HTTP: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP,
  MESOS_HTTP: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP,
  HTTPS: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTPS,
  MESOS_HTTPS: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTPS,
  TCP: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_TCP,
  MESOS_TCP: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_TCP,
  COMMAND: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_COMMAND,
};

/** A proto health check in Marathon's JSON shape. */
function healthCheckToDefinition(h: HealthCheck): Record<string, unknown> {
  const optionals = ['portIndex', 'port', 'gracePeriodSeconds', 'intervalSeconds', 'timeoutSeconds', 'maxConsecutiveFailures', 'delaySeconds'] as const;
  // UNSPECIFIED is Marathon's default, HTTP; an unknown number stays visible and fails validation.
  const protocol = h.protocol === HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_UNSPECIFIED ? 'HTTP' : (healthCheckProtocolCodec.name(h.protocol) ?? 'UNRECOGNIZED');
  const def: Record<string, unknown> = { protocol };
  if (h.path !== '') def.path = h.path;
  for (const key of optionals) if (h[key] !== undefined) def[key] = h[key];
  if (h.command !== '') def.command = { value: h.command };
  if (h.ignoreHttp1xx) def.ignoreHttp1xx = true;
  return def;
}

/** Rules that involve more than one field, applied to the raw input defensively. */
function crossFieldProblems(input: unknown): FieldViolation[] {
  if (!isRecord(input)) return [];
  const out: FieldViolation[] = [];
  if (typeof input.id === 'string') {
    const problem = appIdProblem(input.id);
    if (problem) out.push({ path: 'id', message: problem });
  }
  const hasCmd = input.cmd !== undefined;
  const hasArgs = input.args !== undefined;
  if (hasCmd && hasArgs) out.push({ path: 'cmd', message: 'set either cmd or args, not both' });
  // A Docker image has its own entrypoint; everything else needs a command.
  if (!hasCmd && !hasArgs && !isRecord(input.container)) out.push({ path: 'cmd', message: 'one of cmd or args is required' });
  out.push(...containerProblems(input));
  if (Array.isArray(input.constraints)) {
    input.constraints.forEach((c: unknown, i) => out.push(...constraintProblems(c, `constraints[${i}]`)));
  }
  out.push(...healthCheckProblems(input));
  out.push(...upgradeStrategyProblems(input.upgradeStrategy));
  out.push(...unreachableStrategyProblems(input.unreachableStrategy));
  if (Array.isArray(input.portDefinitions)) {
    const seenPorts = new Map<number, number>();
    const seenNames = new Map<string, number>();
    input.portDefinitions.forEach((p: unknown, i) => {
      if (!isRecord(p)) return;
      if (typeof p.port === 'number' && p.port !== 0) {
        const first = seenPorts.get(p.port);
        if (first !== undefined) {
          out.push({ path: `portDefinitions[${i}].port`, message: `duplicates portDefinitions[${first}].port (${p.port})` });
        } else seenPorts.set(p.port, i);
      }
      if (typeof p.name === 'string') {
        const first = seenNames.get(p.name);
        if (first !== undefined) {
          out.push({ path: `portDefinitions[${i}].name`, message: `duplicates portDefinitions[${first}].name ("${p.name}")` });
        } else seenNames.set(p.name, i);
      }
    });
  }
  return out;
}

/** Rules of health checks that involve other fields (ports, the protocol). */
function healthCheckProblems(input: Record<string, unknown>): FieldViolation[] {
  if (!Array.isArray(input.healthChecks)) return [];
  // A BRIDGE container's ports are its portMappings; otherwise portDefinitions (absent: Marathon's one port).
  const docker = isRecord(input.container) && isRecord(input.container.docker) ? (input.container.docker as { network?: 'HOST' | 'BRIDGE'; portMappings?: unknown[] }) : undefined;
  const bridge = docker !== undefined && dockerNetworkOf({ network: docker.network, portMappings: Array.isArray(docker.portMappings) ? docker.portMappings : undefined }) === 'BRIDGE';
  const ports = bridge
    ? (Array.isArray(docker?.portMappings) ? docker.portMappings.length : 0)
    : Array.isArray(input.portDefinitions)
      ? input.portDefinitions.length
      : input.portDefinitions === undefined
        ? 1
        : 0;
  const out: FieldViolation[] = [];
  input.healthChecks.forEach((h: unknown, i) => {
    if (!isRecord(h)) return;
    const path = `healthChecks[${i}]`;
    const protocol = typeof h.protocol === 'string' ? h.protocol.replace(/^MESOS_/, '') : 'HTTP';
    if (protocol === 'COMMAND') {
      if (h.command === undefined) out.push({ path: `${path}.command`, message: 'COMMAND checks need command.value' });
    } else {
      if (h.command !== undefined) out.push({ path: `${path}.command`, message: `only COMMAND checks take a command, not ${protocol}` });
      if (h.port !== undefined && h.portIndex !== undefined) out.push({ path: `${path}.port`, message: 'set either port or portIndex, not both' });
      const index = typeof h.portIndex === 'number' ? h.portIndex : 0;
      if (h.port === undefined && index >= ports) {
        out.push({ path: `${path}.portIndex`, message: `is ${index} but the app has ${ports} port${ports === 1 ? '' : 's'}` });
      }
    }
  });
  return out;
}

/** Container rules that involve other fields. */
function containerProblems(input: Record<string, unknown>): FieldViolation[] {
  const c = input.container;
  if (!isRecord(c)) return [];
  const out: FieldViolation[] = [];
  if (!isRecord(c.docker)) {
    out.push({ path: 'container.docker', message: 'a DOCKER container needs docker.image' });
    return out;
  }
  const docker = c.docker as { network?: 'HOST' | 'BRIDGE'; portMappings?: unknown[] };
  const network = dockerNetworkOf({ network: docker.network, portMappings: Array.isArray(docker.portMappings) ? docker.portMappings : undefined });
  const mappings = Array.isArray(docker.portMappings) ? docker.portMappings.length : 0;
  if (network === 'HOST' && mappings > 0) {
    out.push({ path: 'container.docker.portMappings', message: 'are for BRIDGE networking; with HOST use portDefinitions' });
  }
  if (network === 'BRIDGE' && Array.isArray(input.portDefinitions) && input.portDefinitions.length > 0) {
    out.push({ path: 'portDefinitions', message: 'must be empty with BRIDGE networking; publish ports with container.docker.portMappings' });
  }
  if (Array.isArray(c.volumes)) {
    c.volumes.forEach((v: unknown, i) => {
      if (isRecord(v) && typeof v.containerPath === 'string' && !v.containerPath.startsWith('/')) {
        out.push({ path: `container.volumes[${i}].containerPath`, message: 'must be an absolute path' });
      }
    });
  }
  return out;
}

/** A strategy that can never make progress is refused up front. */
function upgradeStrategyProblems(raw: unknown): FieldViolation[] {
  if (!isRecord(raw)) return [];
  const minHealth = typeof raw.minimumHealthCapacity === 'number' ? raw.minimumHealthCapacity : 1;
  const overCapacity = typeof raw.maximumOverCapacity === 'number' ? raw.maximumOverCapacity : 1;
  if (minHealth === 1 && overCapacity === 0) {
    return [{ path: 'upgradeStrategy.maximumOverCapacity', message: 'must be above 0 when minimumHealthCapacity is 1, or no task could ever be replaced' }];
  }
  return [];
}

/** A task must become inactive (be replaced) before it is given up, as Marathon checks. */
function unreachableStrategyProblems(raw: unknown): FieldViolation[] {
  if (!isRecord(raw)) return [];
  const inactive = typeof raw.inactiveAfterSeconds === 'number' ? raw.inactiveAfterSeconds : DEFAULT_UNREACHABLE_STRATEGY.inactiveAfterSeconds;
  const expunge = typeof raw.expungeAfterSeconds === 'number' ? raw.expungeAfterSeconds : DEFAULT_UNREACHABLE_STRATEGY.expungeAfterSeconds;
  if (inactive > expunge) {
    return [{ path: 'unreachableStrategy.inactiveAfterSeconds', message: `must be at most expungeAfterSeconds (${expunge})` }];
  }
  return [];
}

/** Short, user-facing wording for each kind of zod issue. */
function describeIssue(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      // NaN and Infinity are numbers to typeof but not to the schema (a gRPC double can carry them).
      if (issue.expected === 'number' && typeof issue.input === 'number') return 'must be a finite number';
      return `must be ${article(String(issue.expected))}`;
    case 'too_small':
      if (issue.origin === 'array') return 'must not be empty';
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} items`;
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return 'has the wrong format';
    default:
      return issue.message ?? 'is invalid';
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'record' || expected === 'object') return 'an object';
  if (expected === 'array') return 'a list';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function toViolations(issue: z.core.$ZodIssue): FieldViolation[] {
  const base = formatPath(issue.path.map(shortKey));
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key].map(shortKey)),
      message:
        issue.path.length === 0 && UNSUPPORTED_MARATHON_FIELDS.has(key)
          ? 'is a Marathon field Drover does not support yet'
          : 'is not a known field',
    }));
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return [{ path: '', message: 'an app definition must be an object' }];
  }
  // A bad map key (env, labels): the map is the field; the key goes in the message.
  if (issue.code === 'invalid_key') {
    const [parent, key] = [issue.path.slice(0, -1), issue.path.at(-1)];
    const why = issue.issues.map((i) => describeIssue({ ...i, input: key } as z.core.$ZodRawIssue)).join(', ');
    return [{ path: formatPath(parent.map(shortKey)), message: `has a name ${JSON.stringify(shortKey(key ?? ''))} that ${why}` }];
  }
  // Integers are numbers that also pass an integrality check: say "integer".
  if (issue.code === 'invalid_type' && issue.expected === 'int') return [{ path: base, message: 'must be an integer' }];
  return [{ path: base, message: issue.message }];
}

/** A path segment short enough to print: a hostile 100 KB key must not come back in full. */
function shortKey(segment: PropertyKey): PropertyKey {
  if (typeof segment !== 'string' || segment.length <= SHORT_KEY_LENGTH) return segment;
  return `${segment.slice(0, SHORT_KEY_LENGTH - 3)}...`;
}

const SHORT_KEY_LENGTH = 64;

function dedupe(vs: FieldViolation[]): FieldViolation[] {
  const seen = new Set<string>();
  return vs.filter((v) => {
    const key = `${v.path}\u0000${v.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortByPath(vs: FieldViolation[]): FieldViolation[] {
  return [...vs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
