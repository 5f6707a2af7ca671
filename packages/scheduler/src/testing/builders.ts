/**
 * Small builders for the scheduler's tests (after Nomad's
 * scheduler/testing.go): agents, snapshots and requests with sensible
 * defaults, so a test states only what it is about.
 */
import { type Constraint, type ConstraintOperatorName, parsePortRanges, type ScalarResources, scalars } from '@drover/common';
import type { AgentSnapshot, PlacementRequest, PlacementStrategy, Snapshot } from '../types.js';

/** What a test may say about an agent. */
export interface AgentSpec {
  /** Capacity; default 8 cpus, 8192 MiB, no disk or gpus. */
  readonly total?: Partial<ScalarResources>;
  /** Already reserved by live tasks; default nothing. */
  readonly used?: Partial<ScalarResources>;
  /** Free port ranges as text; default "31000-31099". */
  readonly ports?: string;
  /** Default `${id}.example`. */
  readonly hostname?: string;
  /** Default none. */
  readonly attributes?: Record<string, string>;
  /** Default false. */
  readonly draining?: boolean;
}

/** An agent snapshot. */
export function agent(id: string, spec: AgentSpec = {}): AgentSnapshot {
  const total = scalars({ cpus: 8, mem: 8192, ...spec.total });
  const used = scalars(spec.used);
  return {
    id,
    hostname: spec.hostname ?? `${id}.example`,
    attributes: spec.attributes ?? {},
    total,
    free: scalars({ cpus: total.cpus - used.cpus, mem: total.mem - used.mem, disk: total.disk - used.disk, gpus: total.gpus - used.gpus }),
    freePorts: parsePortRanges(spec.ports ?? '31000-31099'),
    draining: spec.draining ?? false,
  };
}

/** A snapshot; `placed` maps app id -> agent id -> live tasks. */
export function snapshot(agents: readonly AgentSnapshot[], placed: Record<string, Record<string, number>> = {}): Snapshot {
  return {
    agents,
    placed: new Map(Object.entries(placed).map(([app, byAgent]) => [app, new Map(Object.entries(byAgent))])),
  };
}

/** A constraint, as `[field, operator, value?]` reads. */
export function constraint(field: string, operator: ConstraintOperatorName, value?: string): Constraint {
  return value === undefined ? { field, operator } : { field, operator, value };
}

/** What a test may say about a request. */
export interface RequestSpec {
  /** Default the app id. */
  readonly key?: string;
  /** Per instance; default 0.1 cpus, 32 MiB. */
  readonly resources?: Partial<ScalarResources>;
  /** Host ports per instance (0 = any); default none. */
  readonly ports?: readonly number[];
  /** Default none. */
  readonly constraints?: readonly Constraint[];
  /** Default binpack. */
  readonly strategy?: PlacementStrategy;
}

/** A request for `count` instances of `appId`. */
export function request(appId: string, count: number, spec: RequestSpec = {}): PlacementRequest {
  return {
    key: spec.key ?? appId,
    appId,
    count,
    resources: scalars({ cpus: 0.1, mem: 32, ...spec.resources }),
    ports: (spec.ports ?? []).map((port) => ({ port })),
    constraints: spec.constraints ?? [],
    strategy: spec.strategy ?? 'binpack',
  };
}
