/**
 * The app definition as users write it (JSON or YAML): Marathon's field
 * names, types and defaults, as recorded in the design's COMPAT.md.
 * Structure and per-field rules live here; rules that span fields are in
 * app-definition.ts.
 */
import { z } from 'zod';

/** Largest port number. */
const MAX_PORT = 65535;

/** Marathon's port-name rule: lowercase letters, digits and dashes. */
const PORT_NAME = /^[a-z0-9-]+$/;

const stringMap = z.record(z.string(), z.string());

/** One entry of portDefinitions. */
export const portDefinitionSchema = z.strictObject({
  port: z.number().int().min(0).max(MAX_PORT).default(0),
  protocol: z.enum(['tcp', 'udp', 'udp,tcp']).default('tcp'),
  name: z
    .string()
    .regex(PORT_NAME, { error: 'must be lowercase letters, digits and dashes' })
    .optional(),
  labels: stringMap.default({}),
});

/**
 * One health check. MESOS_* protocols are accepted as their plain
 * equivalents: in Drover every check runs on the task's agent anyway.
 */
export const healthCheckSchema = z.strictObject({
  protocol: z.enum(['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP']).default('HTTP'),
  path: z.string().default('/'),
  portIndex: z.number().int().min(0).optional(),
  port: z.number().int().min(1).max(MAX_PORT).optional(),
  command: z.strictObject({ value: z.string().min(1) }).optional(),
  gracePeriodSeconds: z.number().min(0).default(300),
  intervalSeconds: z.number().positive().default(60),
  timeoutSeconds: z.number().positive().default(20),
  maxConsecutiveFailures: z.number().int().min(0).default(3),
  delaySeconds: z.number().min(0).default(15),
  ignoreHttp1xx: z.boolean().default(false),
});

/** How deployments replace tasks. */
export const upgradeStrategySchema = z.strictObject({
  minimumHealthCapacity: z.number().min(0).max(1).default(1),
  maximumOverCapacity: z.number().min(0).max(1).default(1),
  progressDeadlineSeconds: z.number().positive().default(600),
});

const protocolSchema = z.enum(['tcp', 'udp', 'udp,tcp']).default('tcp');

/** One published container port (BRIDGE networking). */
export const portMappingSchema = z.strictObject({
  containerPort: z.number().int().min(0).max(MAX_PORT).default(0),
  hostPort: z.number().int().min(0).max(MAX_PORT).default(0),
  servicePort: z.number().int().min(0).max(MAX_PORT).default(0),
  protocol: protocolSchema,
  name: z.string().regex(PORT_NAME, { error: 'must be lowercase letters, digits and dashes' }).optional(),
  labels: stringMap.default({}),
});

/** Marathon's container block; Drover runs DOCKER containers. */
export const containerSchema = z.strictObject({
  type: z.enum(['DOCKER']).default('DOCKER'),
  docker: z
    .strictObject({
      image: z.string().min(1),
      network: z.enum(['HOST', 'BRIDGE']).optional(),
      privileged: z.boolean().default(false),
      forcePullImage: z.boolean().default(false),
      parameters: z.array(z.strictObject({ key: z.string().min(1), value: z.string() })).default([]),
      portMappings: z.array(portMappingSchema).optional(),
    })
    .optional(),
  volumes: z
    .array(
      z.strictObject({
        containerPath: z.string().min(1),
        hostPath: z.string().min(1),
        mode: z.enum(['RO', 'RW']).default('RW'),
      }),
    )
    .default([]),
});

/** One artifact to download before the task starts. */
export const fetchSchema = z.strictObject({
  uri: z.string().regex(/^(https?|file):\/\/\S+$/, { error: 'must be an http://, https:// or file:// URI' }),
  executable: z.boolean().default(false),
  extract: z.boolean().optional(),
  cache: z.boolean().default(false),
  destPath: z.string().min(1).optional(),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hex digits' }).optional(),
});

/** Kill grace period when an app does not set one, seconds. */
export const DEFAULT_KILL_GRACE_PERIOD_SECONDS = 3;

/** A whole app definition, defaults applied by parsing. */
export const appDefinitionSchema = z.strictObject({
  id: z.string(),
  cmd: z.string().min(1).optional(),
  args: z.array(z.string()).min(1).optional(),
  cpus: z.number().min(0.001).default(1),
  mem: z.number().min(0).default(128),
  disk: z.number().min(0).default(0),
  gpus: z.number().int().min(0).default(0),
  instances: z.number().int().min(0).default(1),
  env: stringMap.default({}),
  labels: stringMap.default({}),
  // Marathon gives an app one port of any number when it names none.
  portDefinitions: z.array(portDefinitionSchema).default([{ port: 0, protocol: 'tcp', labels: {} }]),
  taskKillGracePeriodSeconds: z.number().min(0).default(DEFAULT_KILL_GRACE_PERIOD_SECONDS),
  // Entries are checked one by one in constraints.ts, with per-element paths.
  constraints: z.array(z.unknown()).default([]),
  backoffSeconds: z.number().min(0).default(1),
  backoffFactor: z.number().min(1).default(1.15),
  maxLaunchDelaySeconds: z.number().min(0).default(300),
  // Drover's own: how to choose among agents that all fit.
  placementStrategy: z.enum(['binpack', 'spread']).default('binpack'),
  healthChecks: z.array(healthCheckSchema).default([]),
  upgradeStrategy: upgradeStrategySchema.default({ minimumHealthCapacity: 1, maximumOverCapacity: 1, progressDeadlineSeconds: 600 }),
  container: containerSchema.optional(),
  fetch: z.array(fetchSchema).default([]),
  user: z.string().min(1).optional(),
});

/** A parsed, defaulted app definition. */
export type AppDefinition = z.output<typeof appDefinitionSchema>;

/**
 * Marathon fields Drover does not run yet. Named here so the error says
 * "not supported" instead of "unknown": a Marathon user should know the
 * field was understood and refused, never silently dropped.
 */
export const UNSUPPORTED_MARATHON_FIELDS: ReadonlySet<string> = new Set([
  'acceptedResourceRoles',
  'dependencies',
  'executor',
  'ipAddress',
  'killSelection',
  'networks',
  'ports',
  'readinessChecks',
  'requirePorts',
  'residency',
  'secrets',
  'storeUrls',
  'unreachableStrategy',
  'uris',
  'versionInfo',
]);
