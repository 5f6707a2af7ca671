/**
 * The scheduler's inputs and outputs. A Snapshot is an immutable picture of
 * the agents taken by the master; a Plan is what the scheduler would like
 * to happen. The scheduler never sees the store, the clock or the network:
 * the master's plan applier turns the Plan into tasks.
 */
import type { Constraint, PortRange, ScalarResources } from '@drover/common';

/** What constraint fields read from an agent. */
export interface AgentIdentity {
  /** Hostname (the `hostname` constraint field). */
  readonly hostname: string;
  /** Operator attributes (constraint fields). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** One agent as the scheduler sees it. */
export interface AgentSnapshot extends AgentIdentity {
  /** Agent id. */
  readonly id: string;
  /** Everything the agent offers. */
  readonly total: ScalarResources;
  /** What is not reserved by live tasks. */
  readonly free: ScalarResources;
  /** Host ports not held by live tasks. */
  readonly freePorts: readonly PortRange[];
  /** Drained by an operator: takes no new tasks (explained as "draining"). */
  readonly draining: boolean;
  /** What it can run, e.g. "docker" (see PlacementRequest.requiredCapabilities). */
  readonly capabilities?: readonly string[];
}

/** The cluster as the scheduler may use it. */
export interface Snapshot {
  /** Agents connected to the master (lost and disconnected ones are left out). */
  readonly agents: readonly AgentSnapshot[];
  /**
   * Live tasks per app and agent (appId -> agentId -> count), including
   * tasks on agents not in `agents`: constraints such as UNIQUE and MAX_PER
   * count every live task of the app.
   */
  readonly placed: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /**
   * Hostname and attributes of agents missing from `agents` (disconnected,
   * lost) that still hold live tasks, so those tasks count toward
   * constraints by value too (UNIQUE hostname, MAX_PER rack...).
   */
  readonly elsewhere?: ReadonlyMap<string, AgentIdentity>;
}

/** One host port a task needs. */
export interface PortRequest {
  /** A fixed port, or 0 for any free one. */
  readonly port: number;
}

/** How to choose among agents that all pass the filters. */
export type PlacementStrategy = 'binpack' | 'spread';

/** Identical instances of one app to place. */
export interface PlacementRequest {
  /** Caller's key for this group, echoed in the plan. */
  readonly key: string;
  /**
   * The group whose tasks constraints count together: the app id (every
   * version of an app counts), or a one-off task's own id.
   */
  readonly appId: string;
  /** How many instances to place. */
  readonly count: number;
  /** Resources one instance reserves. */
  readonly resources: ScalarResources;
  /** Host ports one instance needs, in port-definition order. */
  readonly ports: readonly PortRequest[];
  /** Rules every chosen agent must satisfy. */
  readonly constraints: readonly Constraint[];
  /** binpack or spread. */
  readonly strategy: PlacementStrategy;
  /** Capabilities an agent must report, e.g. ["docker"] for a container. */
  readonly requiredCapabilities?: readonly string[];
}

/** Where one instance should run. */
export interface Placement {
  /** The request's key (a request with count N gets up to N placements). */
  readonly key: string;
  /** Chosen agent. */
  readonly agentId: string;
  /** Host ports chosen for it, in the request's order. */
  readonly hostPorts: readonly number[];
}

/** How many agents one reason ruled out. */
export interface RejectionCount {
  /** Machine-friendly reason, for example "insufficient mem". */
  readonly reason: string;
  /** Number of agents it ruled out. */
  readonly agents: number;
  /** Detail for people, for example "need 512 MiB, most free 256 MiB". */
  readonly detail: string;
}

/** Why an instance could not be placed. */
export interface Explanation {
  /** Agents looked at. */
  readonly agentsConsidered: number;
  /** Per reason, most common first. */
  readonly rejections: readonly RejectionCount[];
  /** Everything in one sentence. */
  readonly summary: string;
}

/** Instances of a request that found no agent. */
export interface Unplaced {
  /** The request's key. */
  readonly key: string;
  /** The request's app id. */
  readonly appId: string;
  /** How many of the request's instances were not placed. */
  readonly count: number;
  /** Why. */
  readonly explanation: Explanation;
}

/** The scheduler's answer to one pass. */
export interface Plan {
  /** Instances with an agent. */
  readonly placements: readonly Placement[];
  /** Instances without one, with the reason. */
  readonly unplaced: readonly Unplaced[];
}
