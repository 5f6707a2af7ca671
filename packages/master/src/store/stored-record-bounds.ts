/**
 * Bringing records stored before input was bounded back inside the bounds.
 * The schema now refuses instances 4294967296 or a backoff of 3,000,000 s,
 * but a store written by an older master may hold them, and a single such
 * app made every ListApps answer fail to serialize (uint32 overflow) for
 * the whole cluster; an agent registered before registrations were checked
 * may hold a negative GPU count or a reversed port range, which does the
 * same to ListAgents.
 *
 * Refusing such a record at load would be worse than the problem: an app
 * missing from the state is an app whose tasks the orchestrator kills. So
 * each out-of-range number is clamped to the nearest value the schema
 * accepts (a value that is no finite number gets the field's default), and
 * every change is returned for the caller to log loudly and write back.
 */
import {
  MAX_BACKOFF_FACTOR,
  MAX_CONSECUTIVE_FAILURES,
  MAX_DURATION_SECONDS,
  MAX_INSTANCES,
  MAX_LIST_ITEMS,
  type PortRange,
  RESOURCE_LIMITS,
  type ScalarResources,
} from '@drover/common';
import type { AppSpec, HealthCheck, UpgradeStrategy } from '@drover/proto';

/** One field brought back into range. */
export interface ClampedField {
  /** Field path, as in validation errors ("healthChecks[0].intervalSeconds"). */
  readonly path: string;
  /** What was stored. */
  readonly from: unknown;
  /** What it is now. */
  readonly to: unknown;
}

interface Range {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  /** Used when the stored value is no finite number (JSON stores NaN and Infinity as null). */
  readonly fallback: number;
}

/** The schema's ranges (app-definition-schema.ts) for the optional numbers of an AppSpec. */
const APP_RANGES: Partial<Record<keyof AppSpec, Range>> = {
  cpus: { min: 0.001, max: RESOURCE_LIMITS.cpus, fallback: 1 },
  mem: { min: 0, max: RESOURCE_LIMITS.mem, fallback: 128 },
  disk: { min: 0, max: RESOURCE_LIMITS.disk, fallback: 0 },
  gpus: { min: 0, max: RESOURCE_LIMITS.gpus, integer: true, fallback: 0 },
  instances: { min: 0, max: MAX_INSTANCES, integer: true, fallback: 1 },
  taskKillGracePeriodSeconds: { min: 0, max: MAX_DURATION_SECONDS, fallback: 3 },
  backoffSeconds: { min: 0, max: MAX_DURATION_SECONDS, fallback: 1 },
  backoffFactor: { min: 1, max: MAX_BACKOFF_FACTOR, fallback: 1.15 },
  maxLaunchDelaySeconds: { min: 0, max: MAX_DURATION_SECONDS, fallback: 300 },
};

/** Positive durations: the smallest stored value kept is 1 ms. */
const POSITIVE = 0.001;

const CHECK_RANGES: Partial<Record<keyof HealthCheck, Range>> = {
  portIndex: { min: 0, max: MAX_LIST_ITEMS - 1, integer: true, fallback: 0 },
  port: { min: 1, max: 65535, integer: true, fallback: 1 },
  gracePeriodSeconds: { min: 0, max: MAX_DURATION_SECONDS, fallback: 300 },
  intervalSeconds: { min: POSITIVE, max: MAX_DURATION_SECONDS, fallback: 60 },
  timeoutSeconds: { min: POSITIVE, max: MAX_DURATION_SECONDS, fallback: 20 },
  maxConsecutiveFailures: { min: 0, max: MAX_CONSECUTIVE_FAILURES, integer: true, fallback: 3 },
  delaySeconds: { min: 0, max: MAX_DURATION_SECONDS, fallback: 15 },
};

const STRATEGY_RANGES: Partial<Record<keyof UpgradeStrategy, Range>> = {
  minimumHealthCapacity: { min: 0, max: 1, fallback: 1 },
  maximumOverCapacity: { min: 0, max: 1, fallback: 1 },
  progressDeadlineSeconds: { min: POSITIVE, max: MAX_DURATION_SECONDS, fallback: 600 },
};

/** `spec` with every bounded number inside its range, and what changed. */
export function clampAppSpec(spec: AppSpec): { spec: AppSpec; changed: ClampedField[] } {
  const changed: ClampedField[] = [];
  const out = clampFields(spec, APP_RANGES, '', changed);
  const healthChecks = spec.healthChecks.map((h, i) => clampFields(h, CHECK_RANGES, `healthChecks[${i}].`, changed));
  const upgradeStrategy = spec.upgradeStrategy ? clampFields(spec.upgradeStrategy, STRATEGY_RANGES, 'upgradeStrategy.', changed) : undefined;
  if (changed.length === 0) return { spec, changed };
  return { spec: { ...out, healthChecks, upgradeStrategy }, changed };
}

/** An agent's totals and port ranges inside what registration accepts now, and what changed. */
export function clampAgentResources(total: ScalarResources, ports: readonly PortRange[]): { total: ScalarResources; ports: PortRange[]; changed: ClampedField[] } {
  const changed: ClampedField[] = [];
  const clamped = { ...total };
  for (const name of ['cpus', 'mem', 'disk', 'gpus'] as const) {
    const to = clampNumber(total[name], { min: 0, max: RESOURCE_LIMITS[name], integer: name === 'gpus', fallback: 0 });
    if (!Object.is(to, total[name])) {
      changed.push({ path: `resources.${name}`, from: total[name], to });
      clamped[name] = to;
    }
  }
  // A range that is not one (reversed, outside 1-65535) is dropped: no port of it can be trusted.
  const kept = ports.filter((r) => Number.isInteger(r.begin) && Number.isInteger(r.end) && r.begin >= 1 && r.end <= 65535 && r.begin <= r.end);
  if (kept.length !== ports.length) changed.push({ path: 'resources.ports', from: ports, to: kept });
  return { total: clamped, ports: kept, changed };
}

function clampFields<T extends object>(record: T, ranges: Partial<Record<keyof T, Range>>, prefix: string, changed: ClampedField[]): T {
  let out = record;
  for (const [key, range] of Object.entries(ranges) as Array<[keyof T & string, Range]>) {
    const from = record[key] as unknown;
    // Unset optional fields take their defaults later, as they always did.
    if (from === undefined) continue;
    const to = clampNumber(from, range);
    if (Object.is(to, from)) continue;
    changed.push({ path: `${prefix}${key}`, from, to });
    out = { ...out, [key]: to };
  }
  return out;
}

function clampNumber(value: unknown, range: Range): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return range.fallback;
  const rounded = range.integer ? Math.round(value) : value;
  return Math.min(range.max, Math.max(range.min, rounded)) + 0;
}
