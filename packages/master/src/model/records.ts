/**
 * What the master stores: one record per app, task and agent (never one
 * blob), as plain JSON-safe objects so any Store can persist them as is.
 */
import type { PortRange, ScalarResources, TaskStateName } from '@drover/common';
import type {
  AgentStateName,
  AppSpec,
  AssignedPort,
  DeploymentKindName,
  DeploymentStateName,
  HealthStateName,
  TaskReasonName,
} from '@drover/proto';

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

/**
 * An app: its validated spec and the versions it got. Every change is a
 * version (as in Marathon), but a change of the instance count alone (a
 * scale) keeps the tasks: they run the configuration version, and a scale's
 * version is recorded beside it. The app's current version is
 * `scaledAt ?? version` (see currentVersion).
 */
export interface AppRecord {
  /** Normalized spec (defaults filled, id absolute). */
  readonly spec: AppSpec;
  /** ISO-8601 time the spec (not the instance count) last changed: the version its tasks run. */
  readonly version: string;
  /** The version the latest scale since then created (ISO-8601, after `version`); absent when there was none. */
  readonly scaledAt?: string;
  /** When the app was created, ms since the epoch. */
  readonly createdAt: number;
  /** The most recent task of the app that ended on its own. */
  readonly lastTaskFailure?: TaskFailureRecord;
  /**
   * The app's launch backoff as of its last failure (tasks/launch-backoff.ts),
   * so a restarted or newly elected master does not reset it and let a crash
   * loop flood the agents again. Ignored once the app has another version.
   */
  readonly launchBackoff?: LaunchBackoffRecord;
}

/** An app's launch backoff, as persisted with the app. */
export interface LaunchBackoffRecord {
  /** The app version whose tasks failed. */
  readonly version: string;
  /** Consecutive failures counted. */
  readonly failures: number;
  /** The current delay, ms. */
  readonly delayMs: number;
  /** When the last failure happened, ms since the epoch. */
  readonly lastFailureAt: number;
  /** When the next launch may happen, ms since the epoch. */
  readonly nextLaunchAt: number;
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
  /** What its health checks say (absent: the app has none). */
  readonly health?: HealthStateName;
  /** Consecutive failed checks, as the agent counted them. */
  readonly healthFailures?: number;
  /** The agent says the checks failed max_consecutive_failures times: replace it. */
  readonly healthFailed?: boolean;
  /** Output of the last failing check. */
  readonly healthMessage?: string;
  /** True once the task has ever been healthy (replacements that never are hold the health-kill budget). */
  readonly everHealthy?: boolean;
  /** When the agent took the status whose health is recorded (agent clock, ms): older ones do not override it. */
  readonly healthAt?: number;
  /** Set when the master killed it because its health checks kept failing. */
  readonly healthKill?: boolean;
  /**
   * Set for a task an agent reported that this master had no record of, in
   * a registration that showed the master's state to be missing part of the
   * cluster's history (tasks/adopted-task.ts). It is left running even when
   * its app is unknown, until an operator decides.
   */
  readonly adopted?: boolean;
  /**
   * While the task is UNREACHABLE: when its agent was declared silent, ms
   * since the epoch. Its app's unreachable strategy counts from here
   * (tasks/unreachable-tasks.ts).
   */
  readonly unreachableSince?: number;
}

/** One accepted spec of an app, kept so it can be listed and rolled back to. */
export interface VersionRecord {
  readonly appId: string;
  readonly version: string;
  readonly spec: AppSpec;
  /** For a version a scale created: the configuration version it keeps (what its tasks run). */
  readonly configVersion?: string;
}

/** The app's current version: its latest change, a scale included. */
export function currentVersion(app: Pick<AppRecord, 'version' | 'scaledAt'>): string {
  return app.scaledAt ?? app.version;
}

/** The progress of a deployment as it ended, kept so it keeps saying what it ended with. */
export interface ProgressRecord {
  readonly newLive: number;
  readonly newHealthy: number;
  readonly oldRemaining: number;
  readonly surplusRemaining: number;
  readonly healthyTotal: number;
}

/** A change to an app being carried out (see deployments/deployment-manager.ts). */
export interface DeploymentRecord {
  readonly id: string;
  readonly appId: string;
  readonly kind: DeploymentKindName;
  readonly state: DeploymentStateName;
  /** The version the app moves to (for a scale, the version the scale created). */
  readonly version: string;
  /** The configuration version whose tasks count as new; absent: `version` (records older than scale versions). */
  readonly configVersion?: string;
  /** The app's current version before the change ("" for a new app). */
  readonly fromVersion: string;
  readonly targetInstances: number;
  /** Minimum healthy instances kept during the change. */
  readonly minHealthy: number;
  /** Maximum live instances allowed during the change. */
  readonly maxLive: number;
  readonly progressDeadlineMs: number;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly lastProgressAt: number;
  readonly endedAt?: number;
  /** A fingerprint of the best progress seen ("newHealthy/left to go", see deployment-progress.ts). */
  readonly progressMark: string;
  /** Once ended: the progress it ended with. */
  readonly finalProgress?: ProgressRecord;
  /** Why it failed or was canceled. */
  readonly message?: string;
  /** The rollback started for it. */
  readonly rollbackId?: string;
  /** For a rollback: the deployment rolled back. */
  readonly rollsBack?: string;
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
  /** What it can run ("docker", "isolation:cgroups-v1", ...), as it registered. */
  readonly capabilities?: readonly string[];
  /**
   * SHA-256 (hex) of the secret the agent proves itself with over plaintext
   * (agents/agent-identity.ts); absent for agents registered before secrets
   * existed. Never leaves the master.
   */
  readonly secretHash?: string;
  /**
   * The boot id of the agent's machine at its last registration (absent
   * from agents older than boot ids). Another one at the next registration
   * means the machine restarted: the tasks it had are gone.
   */
  readonly bootId?: string;
}
