/**
 * The scheduler's inputs and outputs. A Snapshot is an immutable picture of
 * the agents taken by the master; a Plan is what the scheduler would like
 * to happen. The scheduler never sees the store, the clock or the network:
 * the master's plan applier turns the Plan into tasks.
 */
import type { PortRange, ScalarResources } from '@drover/common';

/** One agent as the scheduler sees it. */
export interface AgentSnapshot {
  /** Agent id. */
  readonly id: string;
  /** Hostname (the `hostname` constraint field). */
  readonly hostname: string;
  /** Operator attributes (constraint fields). */
  readonly attributes: Readonly<Record<string, string>>;
  /** Everything the agent offers. */
  readonly total: ScalarResources;
  /** What is not reserved by live tasks. */
  readonly free: ScalarResources;
  /** Host ports not held by live tasks. */
  readonly freePorts: readonly PortRange[];
}

/** The cluster as the scheduler may use it. */
export interface Snapshot {
  /** Agents that can take tasks (active, not lost). */
  readonly agents: readonly AgentSnapshot[];
}

/** One host port a task needs. */
export interface PortRequest {
  /** A fixed port, or 0 for any free one. */
  readonly port: number;
}

/** One instance to place. */
export interface PlacementRequest {
  /** Caller's key for this instance, echoed in the plan. */
  readonly key: string;
  /** The app the instance belongs to. */
  readonly appId: string;
  /** Resources one instance reserves. */
  readonly resources: ScalarResources;
  /** Host ports one instance needs, in port-definition order. */
  readonly ports: readonly PortRequest[];
}

/** Where one instance should run. */
export interface Placement {
  /** The request's key. */
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

/** An instance that found no agent. */
export interface Unplaced {
  /** The request's key. */
  readonly key: string;
  /** The app it belongs to. */
  readonly appId: string;
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
