/**
 * What an agent says about itself in Register, checked as strictly as what
 * users send (app-definition.ts) and before anything is recorded. An agent
 * is a program, but not necessarily ours, and not necessarily healthy: one
 * Register with cpus Infinity, mem -1, disk NaN, a 100 KB hostname or a
 * reversed port range was once stored and listed, and such values poison
 * every placement (NaN compares false to everything), every listing (a
 * NaN total cannot be encoded sensibly) and every log line.
 *
 * Every problem comes back with its field path, as for apps, and the
 * registration fails with INVALID_ARGUMENT: the agent logs why and retries,
 * and an operator fixes its flags. Caps are shared with apps where the
 * thing is the same (resources/resource-limits.ts, app-spec-limits.ts);
 * the others are far above anything a real agent sends.
 */
import net from 'node:net';
import {
  type FieldViolation,
  hasLoneSurrogate,
  LONE_SURROGATE_MESSAGE,
  MAX_NAME_LENGTH,
  MAX_TEXT_LENGTH,
  RESOURCE_LIMITS,
  SCALAR_NAMES,
  ValidationError,
} from '@drover/common';
import type { Register } from '@drover/proto';

/** The longest DNS name (RFC 1035), for hostname and address. */
const MAX_HOSTNAME_LENGTH = 253;
/** One DNS label: letters, digits, dashes and (tolerated, common in practice) underscores, 1-63 long. */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
/** Agent ids are UUIDs the master hands out; tests and operators may pick readable ones. */
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Attributes per agent: rack, zone, disk type... a few in practice. */
const MAX_ATTRIBUTES = 128;
/** Separate port ranges an agent offers (typically one). */
const MAX_PORT_RANGES = 1024;
/** Capability strings ("docker", "isolation:cgroups-v2"). */
const MAX_CAPABILITIES = 64;
/** Length of a capability or the version string. */
const MAX_SHORT_LENGTH = 128;
/** Task statuses in one Register: more than any machine runs, well below the 4 MiB gRPC message limit's worth. */
const MAX_TASK_STATUSES = 100_000;
/** Length of a reported task id (app ids are capped at 200, plus ".<uuid>"). */
const MAX_TASK_ID_LENGTH = 1024;
/**
 * The highest master epoch an agent may claim to have seen. A master raises
 * its own epoch past one its state does not account for (registration.ts),
 * so an unchecked claim could push it beyond the numbers it can count; 2^48
 * leaves room for more leader changes than any cluster will have.
 */
export const MAX_REPORTED_EPOCH = 2 ** 48;
/** A task spec's kill grace period, as apps are bounded (one week). */
const MAX_GRACE_SECONDS = 604_800;

/** Every problem with a Register, with field paths ("resources.ports[1].end"); empty when it is fine. */
export function registerProblems(reg: Register): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (reg.agentId !== '' && !AGENT_ID.test(reg.agentId)) {
    out.push({ path: 'agentId', message: 'must be 1-128 letters, digits, dots, dashes, underscores or colons' });
  }
  const hostname = hostProblem(reg.hostname);
  if (hostname !== undefined) out.push({ path: 'hostname', message: reg.hostname === '' ? 'is required' : hostname });
  if (reg.address !== '') {
    const address = hostProblem(reg.address);
    if (address !== undefined) out.push({ path: 'address', message: `${address}, or an IP address` });
  }
  out.push(...resourceProblems(reg.resources));
  out.push(...attributeProblems(reg.attributes));
  if (reg.tasks.length > MAX_TASK_STATUSES) out.push({ path: 'tasks', message: `must have at most ${MAX_TASK_STATUSES} items` });
  else {
    reg.tasks.forEach((t, i) => {
      if (t.taskId === '' || t.taskId.length > MAX_TASK_ID_LENGTH) {
        out.push({ path: `tasks[${i}].taskId`, message: `must be 1-${MAX_TASK_ID_LENGTH} characters` });
      }
    });
  }
  if (reg.taskSpecs.length > MAX_TASK_STATUSES) out.push({ path: 'taskSpecs', message: `must have at most ${MAX_TASK_STATUSES} items` });
  else reg.taskSpecs.forEach((spec, i) => out.push(...taskSpecProblems(spec, `taskSpecs[${i}]`)));
  if (reg.portsInUse.length > MAX_PORT_RANGES) out.push({ path: 'portsInUse', message: `must have at most ${MAX_PORT_RANGES} items` });
  else {
    reg.portsInUse.forEach((r, i) => {
      if (![r.begin, r.end].every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) || r.begin > r.end) {
        out.push({ path: `portsInUse[${i}]`, message: `must be a range of ports 1-65535, got ${r.begin}-${r.end}` });
      }
    });
  }
  if (!Number.isSafeInteger(reg.epoch) || reg.epoch < 0 || reg.epoch > MAX_REPORTED_EPOCH) {
    out.push({ path: 'epoch', message: `must be an integer from 0 to ${MAX_REPORTED_EPOCH}` });
  }
  out.push(...shortText(reg.version, 'version', false));
  out.push(...shortText(reg.bootId, 'bootId', false));
  if (reg.capabilities.length > MAX_CAPABILITIES) out.push({ path: 'capabilities', message: `must have at most ${MAX_CAPABILITIES} items` });
  else reg.capabilities.forEach((c, i) => out.push(...shortText(c, `capabilities[${i}]`, true)));
  return out;
}

/** Throws a ValidationError (INVALID_ARGUMENT) listing every problem of a Register. */
export function validateRegister(reg: Register): void {
  const problems = registerProblems(reg);
  if (problems.length > 0) throw new ValidationError(problems, 'invalid registration');
}

/** Why `name` is not a hostname (or an IP address), or undefined. */
function hostProblem(name: string): string | undefined {
  if (name.length > MAX_HOSTNAME_LENGTH) return `must be at most ${MAX_HOSTNAME_LENGTH} characters`;
  if (net.isIP(name) !== 0) return undefined;
  if (name === '' || !name.split('.').every((label) => LABEL.test(label))) {
    return 'must be a hostname (dot-separated labels of letters, digits, dashes and underscores, each 1-63 long)';
  }
  return undefined;
}

/**
 * A live task's spec, sent so that a master that lost its state can adopt
 * the task: what gets recorded from it (ids, resources, ports, grace
 * period) is held to the same bounds.
 */
function taskSpecProblems(spec: Register['taskSpecs'][number], path: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (spec.taskId === '' || spec.taskId.length > MAX_TASK_ID_LENGTH) out.push({ path: `${path}.taskId`, message: `must be 1-${MAX_TASK_ID_LENGTH} characters` });
  for (const [field, value] of [['appId', spec.appId], ['appVersion', spec.appVersion]] as const) {
    if (value.length > MAX_TASK_ID_LENGTH || hasLoneSurrogate(value)) out.push({ path: `${path}.${field}`, message: `must be at most ${MAX_TASK_ID_LENGTH} characters of valid Unicode` });
  }
  if (spec.resources !== undefined) out.push(...scalarProblems(spec.resources, `${path}.resources`));
  spec.ports.forEach((p, j) => {
    if (!Number.isInteger(p.number) || p.number < 1 || p.number > 65535) out.push({ path: `${path}.ports[${j}].number`, message: 'must be a port 1-65535' });
  });
  const grace = spec.killGracePeriodSeconds;
  if (!Number.isFinite(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
    out.push({ path: `${path}.killGracePeriodSeconds`, message: `must be from 0 to ${MAX_GRACE_SECONDS}` });
  }
  return out;
}

/** Problems of the scalar resources (cpus, mem, disk, gpus) under `prefix`. */
function scalarProblems(resources: NonNullable<Register['resources']>, prefix: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const name of SCALAR_NAMES) {
    const value: unknown = resources[name];
    const cap = RESOURCE_LIMITS[name];
    const path = `${prefix}.${name}`;
    if (typeof value !== 'number' || !Number.isFinite(value)) out.push({ path, message: 'must be a finite number' });
    else if (value < 0) out.push({ path, message: 'must be at least 0' });
    else if (value > cap) out.push({ path, message: `must be at most ${cap}` });
    else if (name === 'gpus' && !Number.isInteger(value)) out.push({ path, message: 'must be an integer' });
  }
  return out;
}

function resourceProblems(resources: Register['resources']): FieldViolation[] {
  if (resources === undefined) return [{ path: 'resources', message: 'is required' }];
  const out = scalarProblems(resources, 'resources');
  const ranges = resources.ports;
  if (ranges.length > MAX_PORT_RANGES) return [...out, { path: 'resources.ports', message: `must have at most ${MAX_PORT_RANGES} items` }];
  const valid: Array<{ begin: number; end: number; index: number }> = [];
  ranges.forEach((r, i) => {
    const path = `resources.ports[${i}]`;
    const bad = [r.begin, r.end].some((p) => !Number.isInteger(p) || p < 1 || p > 65535);
    if (bad) out.push({ path, message: `must be ports 1-65535, got ${r.begin}-${r.end}` });
    else if (r.begin > r.end) out.push({ path, message: `begins after it ends (${r.begin}-${r.end})` });
    else valid.push({ begin: r.begin, end: r.end, index: i });
  });
  // Overlaps would count a port twice and could hand it to two tasks.
  valid.sort((a, b) => a.begin - b.begin || a.index - b.index);
  for (let i = 1; i < valid.length; i++) {
    const [prev, cur] = [valid[i - 1], valid[i]] as [(typeof valid)[number], (typeof valid)[number]];
    if (cur.begin <= prev.end) {
      const [first, second] = prev.index < cur.index ? [prev, cur] : [cur, prev];
      out.push({ path: `resources.ports[${second.index}]`, message: `overlaps resources.ports[${first.index}] (${first.begin}-${first.end})` });
    }
  }
  return out;
}

function attributeProblems(attributes: Register['attributes']): FieldViolation[] {
  const entries = Object.entries(attributes);
  if (entries.length > MAX_ATTRIBUTES) return [{ path: 'attributes', message: `must have at most ${MAX_ATTRIBUTES} entries` }];
  const out: FieldViolation[] = [];
  for (const [key, value] of entries) {
    // "__proto__" is no name a client can read back: object decoders (protobuf's, JSON's) make it the prototype.
    if (key === '' || key === '__proto__' || key.length > MAX_NAME_LENGTH || hasLoneSurrogate(key)) {
      const shown = key.length > 64 ? `${key.slice(0, 61)}...` : key;
      out.push({ path: 'attributes', message: `has a name ${JSON.stringify(shown)} that must be 1-${MAX_NAME_LENGTH} characters of valid Unicode` });
      continue;
    }
    if (typeof value !== 'string') out.push({ path: `attributes.${key}`, message: 'must be a string' });
    else if (value.length > MAX_TEXT_LENGTH) out.push({ path: `attributes.${key}`, message: `must be at most ${MAX_TEXT_LENGTH} characters` });
    else if (hasLoneSurrogate(value)) out.push({ path: `attributes.${key}`, message: LONE_SURROGATE_MESSAGE });
  }
  return out;
}

function shortText(value: string, path: string, required: boolean): FieldViolation[] {
  if (required && value === '') return [{ path, message: 'must not be empty' }];
  if (value.length > MAX_SHORT_LENGTH) return [{ path, message: `must be at most ${MAX_SHORT_LENGTH} characters` }];
  if (hasLoneSurrogate(value)) return [{ path, message: LONE_SURROGATE_MESSAGE }];
  return [];
}
