/**
 * A Marathon app JSON -> the app definition Drover parses
 * (parseAppDefinition), so that an app written for Marathon, or copied out
 * of Marathon's GET /v2/apps/{id}, deploys unchanged.
 *
 * Marathon answers with, and users keep in their repositories, many fields
 * Drover has no use for. Each top-level field is in exactly one class:
 *
 * - read-only (version, versionInfo, tasks*, deployments, ...): Marathon
 *   itself ignores them on input; dropped.
 * - a Marathon feature Drover does not have (uris, storeUrls, secrets,
 *   ...): accepted only while it carries Marathon's no-op
 *   default (or null, which Marathon reads as "absent"), then dropped; any
 *   other value is REPORTED with its path, never silently dropped, because
 *   the app would not run as its author meant.
 * - Drover's own fields (everything appDefinitionSchema knows): passed on;
 *   null means "absent" as in Marathon, and `args: []` is how Marathon
 *   writes "no args".
 * - `ports`, the deprecated alias of portDefinitions: turned into
 *   portDefinitions (they must agree when both are given).
 * - `requirePorts`: true keeps non-zero ports as required host ports (what
 *   Drover's own definitions mean); false or absent makes them service
 *   ports in Marathon's sense, so the task gets any free host port.
 *
 * Unknown fields are left in place for parseAppDefinition to report.
 * Problems are returned (not thrown) so the caller can report them together
 * with the schema's own in one answer.
 *
 * Keys are the user's: a rule is found with Object.hasOwn (a plain lookup
 * of "constructor" or "toString" finds Object.prototype's, which once made
 * such a key a 500), and what is built from them is a null-prototype
 * object, so "__proto__" stays an ordinary key for the parser to refuse
 * instead of becoming the prototype the parser reads fields from.
 */
import { type FieldViolation, parseAppDefinition, ValidationError } from '@drover/common';
import type { AppSpec } from '@drover/proto';

/** What happens to one Marathon field Drover does not take as is. */
export type FieldRule =
  | { readonly kind: 'readOnly' }
  | {
      readonly kind: 'noOpDefault';
      /** True for the values that change nothing (null always does). */
      readonly isNoOp: (value: unknown) => boolean;
      /** The accepted values, as the user would write them. */
      readonly accepted: string;
      /** How a refused value is named ("is a DOCKER container"); default from its JSON. */
      readonly describe?: (value: unknown) => string | undefined;
    };

const readOnly: FieldRule = { kind: 'readOnly' };

function noOp(accepted: string, isNoOp: (value: unknown) => boolean, describe?: (value: unknown) => string | undefined): FieldRule {
  return describe ? { kind: 'noOpDefault', isNoOp, accepted, describe } : { kind: 'noOpDefault', isNoOp, accepted };
}

const isEmptyList = (v: unknown): boolean => Array.isArray(v) && v.length === 0;
const isEmptyObject = (v: unknown): boolean => isRecord(v) && Object.keys(v).length === 0;

/** Host networking, as Marathon writes it: `[{mode: "host"}]` (or no entry at all). */
function isHostNetworking(v: unknown): boolean {
  return Array.isArray(v) && v.every((n) => isRecord(n) && n.mode === 'host' && Object.keys(n).every((k) => k === 'mode' || (k === 'labels' && isEmptyObject(n.labels))));
}

/** A MESOS container with no image and no volumes is Marathon's plain command executor. */
function isPlainMesosContainer(v: unknown): boolean {
  if (!isRecord(v) || v.type !== 'MESOS') return false;
  return Object.entries(v).every(([k, x]) => k === 'type' || (k === 'volumes' && isEmptyList(x)) || x === null);
}

/** Every top-level Marathon field that is not one of Drover's own, and what happens to it. */
export const MARATHON_FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  version: readOnly,
  versionInfo: readOnly,
  tasksStaged: readOnly,
  tasksRunning: readOnly,
  tasksHealthy: readOnly,
  tasksUnhealthy: readOnly,
  tasksKilling: readOnly,
  deployments: readOnly,
  tasks: readOnly,
  lastTaskFailure: readOnly,
  readinessCheckResults: readOnly,
  taskStats: readOnly,
  // Both values are honoured (see servicePortsToDynamic), then the field is dropped.
  requirePorts: noOp('true or false', (v) => typeof v === 'boolean'),
  uris: noOp('[]', isEmptyList),
  storeUrls: noOp('[]', isEmptyList),
  dependencies: noOp('[]', isEmptyList),
  readinessChecks: noOp('[]', isEmptyList),
  executor: noOp('"" or "//cmd"', (v) => v === '' || v === '//cmd'),
  acceptedResourceRoles: noOp('null or ["*"]', (v) => Array.isArray(v) && v.length === 1 && v[0] === '*'),
  role: noOp('"*"', (v) => v === '*'),
  ipAddress: noOp('null', () => false),
  residency: noOp('null', () => false),
  secrets: noOp('{}', isEmptyObject),
  networks: noOp('[{"mode": "host"}]', isHostNetworking),
  check: noOp('null', () => false),
  resourceLimits: noOp('null', () => false),
};

/** Nested fields with a no-op default, per element of a list field. */
const HEALTH_CHECK_RULES: Readonly<Record<string, FieldRule>> = {
  ipProtocol: noOp('"IPv4"', (v) => v === 'IPv4'),
};

/** A Marathon definition made ready for parseAppDefinition, and what was wrong with it. */
export interface MarathonAppInput {
  /** The definition without Marathon-only fields (the input itself when it is not an object). */
  readonly definition: unknown;
  /** Marathon fields with values Drover cannot honour, with Drover-style paths. */
  readonly violations: readonly FieldViolation[];
}

/**
 * Strips what Marathon-only fields may carry (see the file comment). The
 * result is a full definition or, for PATCH, the fields to change; a
 * non-object input is passed on for the parser to refuse.
 */
export function fromMarathonApp(input: unknown): MarathonAppInput {
  if (!isRecord(input)) return { definition: input, violations: [] };
  const violations: FieldViolation[] = [];
  const definition = userKeyed();
  for (const [key, value] of Object.entries(input)) {
    const rule = ruleOf(MARATHON_FIELD_RULES, key);
    if (rule) {
      const problem = ruleProblem(key, value, rule);
      if (problem) violations.push(problem);
      continue;
    }
    // Marathon reads null as "not given", and writes an app without args as `args: []`; `ports` is an alias (below).
    if (value === null || (key === 'args' && isEmptyList(value)) || key === 'ports') continue;
    // A MESOS container with nothing in it is Marathon's plain command: no container.
    if (key === 'container' && isPlainMesosContainer(value)) continue;
    definition[key] = value;
  }
  if (Array.isArray(definition.healthChecks)) {
    definition.healthChecks = definition.healthChecks.map((h: unknown, i) => withoutNoOps(h, HEALTH_CHECK_RULES, `healthChecks[${i}]`, violations));
  }
  if (Array.isArray(definition.portDefinitions)) {
    definition.portDefinitions = definition.portDefinitions.map((p: unknown) => withoutNulls(p));
  }
  if (isRecord(definition.env)) {
    const env = userKeyed();
    for (const [name, value] of Object.entries(definition.env)) {
      // Reported here in words; left in, the parser would only say "must be a string".
      if (isRecord(value) && Object.hasOwn(value, 'secret')) violations.push({ path: `env.${name}`, message: 'is a secret reference but Drover does not support secrets' });
      else env[name] = value;
    }
    definition.env = env;
  }
  violations.push(...portsAlias(input.ports, definition));
  if (input.requirePorts !== true) servicePortsToDynamic(definition);
  return { definition, violations };
}

/**
 * In Marathon a non-zero port is a SERVICE port (for load balancers) unless
 * requirePorts is true; the task still gets any free host port. Drover's
 * non-zero port is a required host port, so without requirePorts it becomes
 * 0 (any), as Marathon would place it.
 */
function servicePortsToDynamic(definition: Record<string, unknown>): void {
  if (!Array.isArray(definition.portDefinitions)) return;
  definition.portDefinitions = definition.portDefinitions.map((p: unknown) =>
    // Only valid port numbers: anything else is left for the parser to report.
    isRecord(p) && Number.isInteger(p.port) && (p.port as number) >= 1 && (p.port as number) <= 65535 ? { ...p, port: 0 } : p,
  );
}

/** Validates a Marathon app JSON into an AppSpec: the Marathon-only fields' problems and the definition's own in one ValidationError. */
export function parseMarathonApp(input: unknown): AppSpec {
  const { definition, violations } = fromMarathonApp(input);
  return parseWith(definition, violations);
}

/** parseAppDefinition, reporting `earlier` problems together with its own. */
export function parseWith(definition: unknown, earlier: readonly FieldViolation[]): AppSpec {
  let spec: AppSpec;
  try {
    spec = parseAppDefinition(definition);
  } catch (e) {
    if (!(e instanceof ValidationError) || earlier.length === 0) throw e;
    throw new ValidationError(sortByPath([...earlier, ...e.violations]), 'invalid app definition');
  }
  if (earlier.length > 0) throw new ValidationError(sortByPath(earlier), 'invalid app definition');
  return spec;
}

function ruleProblem(path: string, value: unknown, rule: FieldRule): FieldViolation | undefined {
  if (rule.kind === 'readOnly' || value === null || value === undefined || rule.isNoOp(value)) return undefined;
  const named = rule.describe?.(value) ?? describe(value);
  return { path, message: `${named} but Drover does not support it; only ${rule.accepted} is accepted` };
}

/** The rule for a user's key, never one inherited from Object.prototype. */
function ruleOf(rules: Readonly<Record<string, FieldRule>>, key: string): FieldRule | undefined {
  return Object.hasOwn(rules, key) ? rules[key] : undefined;
}

/** An object for user-chosen keys: no prototype, so no key is special. */
function userKeyed(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/** An element of a list field without its nulls and its no-op Marathon-only fields. */
function withoutNoOps(element: unknown, rules: Readonly<Record<string, FieldRule>>, path: string, out: FieldViolation[]): unknown {
  if (!isRecord(element)) return element;
  const kept = userKeyed();
  for (const [key, value] of Object.entries(element)) {
    const rule = ruleOf(rules, key);
    if (rule) {
      const problem = ruleProblem(`${path}.${key}`, value, rule);
      if (problem) out.push(problem);
    } else if (value !== null) kept[key] = value;
  }
  return kept;
}

function withoutNulls(element: unknown): unknown {
  if (!isRecord(element)) return element;
  const kept = userKeyed();
  for (const [key, value] of Object.entries(element)) if (value !== null) kept[key] = value;
  return kept;
}

/** `ports: [p...]` means `portDefinitions: [{port: p}...]`; both given must agree, as in Marathon. */
function portsAlias(ports: unknown, definition: Record<string, unknown>): FieldViolation[] {
  if (ports === undefined || ports === null) return [];
  if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p))) {
    return [{ path: 'ports', message: 'must be a list of port numbers' }];
  }
  if (definition.portDefinitions === undefined) {
    definition.portDefinitions = ports.map((port: number) => ({ port }));
    return [];
  }
  const defined = Array.isArray(definition.portDefinitions) ? definition.portDefinitions.map((p: unknown) => (isRecord(p) ? (p.port ?? 0) : undefined)) : [];
  if (JSON.stringify(defined) !== JSON.stringify(ports)) {
    return [{ path: 'ports', message: `is ${JSON.stringify(ports)} but portDefinitions has ports ${JSON.stringify(defined)}; give one of them, or the same ports in both` }];
  }
  return [];
}

/** "is true", "has 2 entries", "is {...}": how a refused value is named in a message. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return `has ${value.length} ${value.length === 1 ? 'entry' : 'entries'}`;
  const json = JSON.stringify(value);
  return json.length <= 80 ? `is ${json}` : 'is set';
}

function sortByPath(vs: readonly FieldViolation[]): FieldViolation[] {
  return [...vs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
