/**
 * What the master stores: one record per app, task and agent (never one
 * blob), as plain JSON-safe objects so any Store can persist them as is.
 */
import type { PortRange, ScalarResources, TaskStateName } from '@drover/common';
import type { AgentStateName, AppSpec, AssignedPort, TaskReasonName } from '@drover/proto';

/** How an app's most recent failed task ended (kept after the task is pruned). */
export interface TaskFailureRecord {
  readonly taskId: string;
  readonly agentId: string;
  readonly host: string;
  /** ms since the epoch. */
  readonly timestamp: number;
  readonly state: TaskStateName;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly message: string;
  /** Last 4 KiB of stderr, as text. */
  readonly stderrTail: string;
  readonly appVersion: string;
}

/** An app: its validated spec and the version that spec got. */
export interface AppRecord {
  /** Normalized spec (defaults filled, id absolute). */
  readonly spec: AppSpec;
  /** ISO-8601 time the spec (not the instance count) last changed. */
  readonly version: string;
  /** When the app was created, ms since the epoch. */
  readonly createdAt: number;
  /** The most recent task of the app that ended on its own. */
  readonly lastTaskFailure?: TaskFailureRecord;
}

/** A task: where it runs and what its agent last said about it. */
export interface TaskRecord {
  readonly id: string;
  /** The app, or "" for a one-off task (see runSpec). */
  readonly appId: string;
  readonly appVersion: string;
  /** "" while a one-off task is PENDING. */
  readonly agentId: string;
  /** Agent hostname at placement time (for display without a join). */
  readonly host: string;
  readonly state: TaskStateName;
  readonly resources: ScalarResources;
  readonly ports: readonly AssignedPort[];
  /** When the master placed it, ms since the epoch. */
  readonly stagedAt: number;
  /** When it was reported RUNNING. */
  readonly startedAt?: number;
  /** When it reached a terminal state. */
  readonly endedAt?: number;
  /** Last time anything about it changed. */
  readonly updatedAt: number;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly reason?: TaskReasonName;
  readonly message?: string;
  readonly pid?: number;
  /** Set once the master decided the task must go; it no longer counts toward its app. */
  readonly killRequested: boolean;
  /** Grace period to use when killing it. */
  readonly killGracePeriodSeconds: number;
  /** For a one-off task: what to run (validated like an app, instances 1). */
  readonly runSpec?: AppSpec;
  /** Last 4 KiB of stderr, sent with a terminal status. */
  readonly stderrTail?: string;
}

/** An agent as registered. */
export interface AgentRecord {
  readonly id: string;
  readonly hostname: string;
  readonly address: string;
  readonly total: ScalarResources;
  readonly ports: readonly PortRange[];
  readonly attributes: Readonly<Record<string, string>>;
  readonly state: AgentStateName;
  readonly version: string;
  /** First registration, ms since the epoch. */
  readonly registeredAt: number;
  /** Last message from it, ms since the epoch. */
  readonly lastSeenAt: number;
  /** Set while drained: when remaining tasks are killed (ms since the epoch). */
  readonly drainDeadline?: number;
}
