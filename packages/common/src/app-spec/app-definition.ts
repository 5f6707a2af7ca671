/**
 * Turning a user's app definition (parsed JSON/YAML, or a gRPC AppSpec) into
 * the one normalized AppSpec the master stores. Every problem is collected
 * with its field path before anything is rejected, so a user sees all of
 * them at once; nothing partial ever reaches the store.
 */
import { type AppSpec, placementStrategyCodec } from '@drover/proto';
import type { z } from 'zod';
import { formatPath, type FieldViolation, ValidationError } from '../errors/validation-error.js';
import { appIdProblem, normalizeAppId } from '../ids.js';
import { type AppDefinition, appDefinitionSchema, UNSUPPORTED_MARATHON_FIELDS } from './app-definition-schema.js';
import { constraintProblems, constraintToDefinition, constraintToProto } from './constraints.js';

/** Validates a definition in Marathon's JSON shape; throws ValidationError listing every problem. */
export function parseAppDefinition(input: unknown): AppSpec {
  const violations: FieldViolation[] = [];
  const parsed = appDefinitionSchema.safeParse(input, { error: describeIssue });
  if (!parsed.success) violations.push(...parsed.error.issues.flatMap(toViolations));
  violations.push(...crossFieldProblems(input));
  if (violations.length > 0 || !parsed.success) {
    throw new ValidationError(sortByPath(dedupe(violations)), 'invalid app definition');
  }
  return toAppSpec(parsed.data);
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
  ] as const;
  for (const key of optionals) {
    if (spec[key] !== undefined) def[key] = spec[key];
  }
  def.constraints = spec.constraints.map(constraintToDefinition);
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
  };
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
  if (!hasCmd && !hasArgs) out.push({ path: 'cmd', message: 'one of cmd or args is required' });
  if (Array.isArray(input.constraints)) {
    input.constraints.forEach((c: unknown, i) => out.push(...constraintProblems(c, `constraints[${i}]`)));
  }
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

/** Short, user-facing wording for each kind of zod issue. */
function describeIssue(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${article(String(issue.expected))}`;
    case 'too_small':
      if (issue.origin === 'array') return 'must not be empty';
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
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
  const base = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message:
        issue.path.length === 0 && UNSUPPORTED_MARATHON_FIELDS.has(key)
          ? 'is a Marathon field Drover does not support yet'
          : 'is not a known field',
    }));
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return [{ path: '', message: 'an app definition must be an object' }];
  }
  // Integers are numbers that also pass an integrality check: say "integer".
  if (issue.code === 'invalid_type' && issue.expected === 'int') return [{ path: base, message: 'must be an integer' }];
  return [{ path: base, message: issue.message }];
}

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
