/**
 * The app definition as users write it (JSON or YAML): Marathon's field
 * names, types and defaults, as recorded in docs/COMPAT.md.
 * Structure and per-field rules live here; rules that span fields are in
 * app-definition.ts.
 */
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { RESOURCE_LIMITS } from '../resources/resource-limits.js';
import {
  MAX_APP_ID_LENGTH,
  MAX_ARGS,
  MAX_BACKOFF_FACTOR,
  MAX_CONSECUTIVE_FAILURES,
  MAX_DURATION_SECONDS,
  MAX_INSTANCES,
  MAX_LIST_ITEMS,
  MAX_LONG_TEXT_LENGTH,
  MAX_MAP_ENTRIES,
  MAX_NAME_LENGTH,
  MAX_TEXT_LENGTH,
} from './app-spec-limits.js';
import { hasLoneSurrogate, LONE_SURROGATE_MESSAGE } from './unicode-text.js';

/** Largest port number. */
const MAX_PORT = 65535;

/** Marathon's port-name rule: lowercase letters, digits and dashes. */
const PORT_NAME = /^[a-z0-9-]+$/;

/**
 * delaySeconds when a check does not give one. Marathon delays only the
 * checks Mesos runs (COMMAND and MESOS_*) by 15 s; its own HTTP, HTTPS and
 * TCP checks probe from the start, the grace period covering slow starts.
 * Resolved from the protocol as written, before MESOS_HTTP becomes HTTP.
 */
export function defaultHealthCheckDelaySeconds(protocol: string): number {
  return protocol === 'HTTP' || protocol === 'HTTPS' || protocol === 'TCP' ? 0 : 15;
}

/**
 * The unreachable strategy of an app that sets none (or leaves a field
 * out). Marathon's inactiveAfterSeconds default is 300; Drover's is 0: an
 * UNREACHABLE task is replaced as soon as its agent is declared silent
 * (the master's lost timeout), as Drover always did, and comes back if its
 * agent returns within expungeAfterSeconds (Marathon's 600).
 */
export const DEFAULT_UNREACHABLE_STRATEGY = { inactiveAfterSeconds: 0, expungeAfterSeconds: 600 } as const;

/** Kill grace period when an app does not set one, seconds. */
export const DEFAULT_KILL_GRACE_PERIOD_SECONDS = 3;

/**
 * zod takes about 60 ms to load, which every CLI command and every agent
 * would pay although only app definitions need it (deploy, the master's
 * API). It is loaded on the first validation, synchronously (its CommonJS
 * build), so parseAppDefinition stays a plain function.
 */
const requireCjs = createRequire(import.meta.url);

/** Builds the schemas with zod (see above). */
function buildSchemas() {
  const { z } = requireCjs('zod') as typeof Zod;
  /**
   * A number, with -0 made plain 0: JSON can say -0, but protobuf writes 0
   * for it (or nothing at all for a non-optional field), and a stored spec
   * must read back exactly as it went out. (-0 + 0 is +0.)
   */
  function plainNumber() {
    return z.number().overwrite((n) => n + 0);
  }

  /** A string of at most `max` characters that is valid Unicode, so it crosses gRPC unchanged. */
  function boundedText(max: number) {
    return z
      .string()
      .max(max)
      .refine((s) => !hasLoneSurrogate(s), { error: LONE_SURROGATE_MESSAGE });
  }

  /** env, labels: bounded names, values and entry count. */
  const stringMap = z
    .record(boundedText(MAX_NAME_LENGTH), boundedText(MAX_LONG_TEXT_LENGTH))
    .refine((r) => Object.keys(r).length <= MAX_MAP_ENTRIES, { error: `must have at most ${MAX_MAP_ENTRIES} entries` });

  /** A duration in seconds, zero allowed. */
  const seconds = plainNumber().min(0).max(MAX_DURATION_SECONDS);
  /** A duration in seconds that must be above zero. */
  const positiveSeconds = plainNumber().positive().max(MAX_DURATION_SECONDS);

  /** One entry of portDefinitions. */
  const portDefinitionSchema = z.strictObject({
    port: plainNumber().int().min(0).max(MAX_PORT).default(0),
    protocol: z.enum(['tcp', 'udp', 'udp,tcp']).default('tcp'),
    name: z
      .string()
      .max(MAX_NAME_LENGTH)
      .regex(PORT_NAME, { error: 'must be lowercase letters, digits and dashes' })
      .optional(),
    labels: stringMap.default({}),
  });

  /**
   * One health check. MESOS_* protocols are accepted as their plain
   * equivalents: in Drover every check runs on the task's agent anyway.
   */
  const healthCheckSchema = z.strictObject({
    protocol: z.enum(['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP']).default('HTTP'),
    path: boundedText(MAX_TEXT_LENGTH).default('/'),
    portIndex: plainNumber().int().min(0).max(MAX_LIST_ITEMS - 1).optional(),
    port: plainNumber().int().min(1).max(MAX_PORT).optional(),
    command: z.strictObject({ value: boundedText(MAX_LONG_TEXT_LENGTH).min(1) }).optional(),
    gracePeriodSeconds: seconds.default(300),
    intervalSeconds: positiveSeconds.default(60),
    timeoutSeconds: positiveSeconds.default(20),
    maxConsecutiveFailures: plainNumber().int().min(0).max(MAX_CONSECUTIVE_FAILURES).default(3),
    // No default here: it depends on the protocol (defaultHealthCheckDelaySeconds).
    delaySeconds: seconds.optional(),
    ignoreHttp1xx: z.boolean().default(false),
  });

  /** How deployments replace tasks. */
  const upgradeStrategySchema = z.strictObject({
    minimumHealthCapacity: plainNumber().min(0).max(1).default(1),
    maximumOverCapacity: plainNumber().min(0).max(1).default(1),
    progressDeadlineSeconds: positiveSeconds.default(600),
  });

  /**
   * Marathon's unreachableStrategy: "disabled", or when an UNREACHABLE task
   * is replaced and when it is given up. Drover replaces at once by default
   * (Marathon waits 300 s): see DEFAULT_UNREACHABLE_STRATEGY.
   */
  const unreachableStrategySchema = z.union([
    z.literal('disabled'),
    z.strictObject({
      inactiveAfterSeconds: seconds.default(DEFAULT_UNREACHABLE_STRATEGY.inactiveAfterSeconds),
      expungeAfterSeconds: seconds.default(DEFAULT_UNREACHABLE_STRATEGY.expungeAfterSeconds),
    }),
  ]);

  const protocolSchema = z.enum(['tcp', 'udp', 'udp,tcp']).default('tcp');

  /** One published container port (BRIDGE networking). */
  const portMappingSchema = z.strictObject({
    containerPort: plainNumber().int().min(0).max(MAX_PORT).default(0),
    hostPort: plainNumber().int().min(0).max(MAX_PORT).default(0),
    servicePort: plainNumber().int().min(0).max(MAX_PORT).default(0),
    protocol: protocolSchema,
    name: z.string().max(MAX_NAME_LENGTH).regex(PORT_NAME, { error: 'must be lowercase letters, digits and dashes' }).optional(),
    labels: stringMap.default({}),
  });

  /** Marathon's container block; Drover runs DOCKER containers. */
  const containerSchema = z.strictObject({
    type: z.enum(['DOCKER']).default('DOCKER'),
    docker: z
      .strictObject({
        image: boundedText(MAX_TEXT_LENGTH).min(1),
        network: z.enum(['HOST', 'BRIDGE']).optional(),
        privileged: z.boolean().default(false),
        forcePullImage: z.boolean().default(false),
        parameters: z
          .array(z.strictObject({ key: boundedText(MAX_NAME_LENGTH).min(1), value: boundedText(MAX_TEXT_LENGTH) }))
          .max(MAX_LIST_ITEMS)
          .default([]),
        portMappings: z.array(portMappingSchema).max(MAX_LIST_ITEMS).optional(),
      })
      .optional(),
    volumes: z
      .array(
        z.strictObject({
          containerPath: boundedText(MAX_TEXT_LENGTH).min(1),
          hostPath: boundedText(MAX_TEXT_LENGTH).min(1),
          mode: z.enum(['RO', 'RW']).default('RW'),
        }),
      )
      .max(MAX_LIST_ITEMS)
      .default([]),
  });

  /** One artifact to download before the task starts. */
  const fetchSchema = z.strictObject({
    uri: boundedText(MAX_TEXT_LENGTH).regex(/^(https?|file):\/\/\S+$/, { error: 'must be an http://, https:// or file:// URI' }),
    executable: z.boolean().default(false),
    extract: z.boolean().optional(),
    cache: z.boolean().default(false),
    destPath: boundedText(MAX_TEXT_LENGTH).min(1).optional(),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hex digits' }).optional(),
  });

  /** A whole app definition, defaults applied by parsing. */
  const appDefinitionSchema = z.strictObject({
    id: boundedText(MAX_APP_ID_LENGTH),
    cmd: boundedText(MAX_LONG_TEXT_LENGTH).min(1).optional(),
    args: z.array(boundedText(MAX_LONG_TEXT_LENGTH)).min(1).max(MAX_ARGS).optional(),
    cpus: plainNumber().min(0.001).max(RESOURCE_LIMITS.cpus).default(1),
    mem: plainNumber().min(0).max(RESOURCE_LIMITS.mem).default(128),
    disk: plainNumber().min(0).max(RESOURCE_LIMITS.disk).default(0),
    gpus: plainNumber().int().min(0).max(RESOURCE_LIMITS.gpus).default(0),
    instances: plainNumber().int().min(0).max(MAX_INSTANCES).default(1),
    env: stringMap.default({}),
    labels: stringMap.default({}),
    // Marathon gives an app one port of any number when it names none.
    portDefinitions: z.array(portDefinitionSchema).max(MAX_LIST_ITEMS).default([{ port: 0, protocol: 'tcp', labels: {} }]),
    taskKillGracePeriodSeconds: seconds.default(DEFAULT_KILL_GRACE_PERIOD_SECONDS),
    // Entries are checked one by one in constraints.ts, with per-element paths.
    constraints: z.array(z.unknown()).max(MAX_LIST_ITEMS).default([]),
    backoffSeconds: seconds.default(1),
    backoffFactor: plainNumber().min(1).max(MAX_BACKOFF_FACTOR).default(1.15),
    maxLaunchDelaySeconds: seconds.default(300),
    // Drover's own: how to choose among agents that all fit.
    placementStrategy: z.enum(['binpack', 'spread']).default('binpack'),
    healthChecks: z.array(healthCheckSchema).max(MAX_LIST_ITEMS).default([]),
    upgradeStrategy: upgradeStrategySchema.default({ minimumHealthCapacity: 1, maximumOverCapacity: 1, progressDeadlineSeconds: 600 }),
    container: containerSchema.optional(),
    fetch: z.array(fetchSchema).max(MAX_LIST_ITEMS).default([]),
    user: boundedText(MAX_NAME_LENGTH).min(1).optional(),
    unreachableStrategy: unreachableStrategySchema.default({ ...DEFAULT_UNREACHABLE_STRATEGY }),
    killSelection: z.enum(['YOUNGEST_FIRST', 'OLDEST_FIRST']).default('YOUNGEST_FIRST'),
    // Drover's own (Nomad's stop_after_client_disconnect): unset, never.
    stopAfterDisconnectSeconds: positiveSeconds.optional(),
  });
  return { portDefinitionSchema, healthCheckSchema, upgradeStrategySchema, portMappingSchema, containerSchema, fetchSchema, appDefinitionSchema };
}

/** The app definition schemas, built on first use (see above). */
export type AppDefinitionSchemas = ReturnType<typeof buildSchemas>;

let built: AppDefinitionSchemas | undefined;

/** The app definition schemas (zod is loaded the first time). */
export function appDefinitionSchemas(): AppDefinitionSchemas {
  built ??= buildSchemas();
  return built;
}

/**
 * The whole app definition's schema, for code that inspects it (its
 * `shape`): a stand-in that builds the schemas on first touch, so that
 * importing this module does not load zod.
 */
export const appDefinitionSchema: AppDefinitionSchemas['appDefinitionSchema'] = lazyObject(() => appDefinitionSchemas().appDefinitionSchema);

/** An object that forwards everything to `target()`, called only when it is first used. */
function lazyObject<T extends object>(target: () => T): T {
  return new Proxy({} as T, {
    get: (_, key) => {
      const real = target();
      const value: unknown = Reflect.get(real, key, real);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
    },
    has: (_, key) => Reflect.has(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
      // A proxy may not report a property its own (empty) target lacks as non-configurable.
      if (descriptor !== undefined) descriptor.configurable = true;
      return descriptor;
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(target()),
  });
}

/** A parsed, defaulted app definition. */
export type AppDefinition = Zod.output<AppDefinitionSchemas['appDefinitionSchema']>;

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
  'networks',
  'ports',
  'readinessChecks',
  'requirePorts',
  'residency',
  'secrets',
  'storeUrls',
  'uris',
  'versionInfo',
]);
