/**
 * What the agent keeps in memory about one task: its spec and sandbox, its
 * state and latest status, how to reach what runs it, and the queue every
 * change of the task goes through (task-updates.ts).
 */
import type { TaskStateName } from '@drover/common';
import type { TaskSpec, TaskStatus } from '@drover/proto';
import type { TaskHandle } from '../executor/executor.js';
import { type HealthMonitor, type TaskHealth, UNKNOWN_HEALTH } from '../health/health-monitor.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { KillRequest } from './state-change.js';

/** One tracked task. */
export interface TaskRecord {
  readonly spec: TaskSpec;
  readonly sandbox: Sandbox;
  state: TaskStateName;
  latest?: TaskStatus;
  latestSeq: number;
  handle?: TaskHandle;
  kill?: KillRequest;
  /** False until the sandbox exists: there is nowhere to checkpoint before. */
  hasSandbox: boolean;
  /** When the task became RUNNING (ms since the epoch); health check timing counts from it. */
  runningSince?: number;
  /** Last known health, stamped on every status; undefined for a task without health checks. */
  health?: TaskHealth;
  /** Runs the health checks while the task is RUNNING. */
  monitor?: HealthMonitor;
  /** Aborts the artifact fetch in progress (set only while fetching). */
  fetching?: AbortController;
  queue: Promise<void>;
  readonly ended: Promise<void>;
  markEnded: () => void;
}

/** What a record recovered from a checkpoint starts with. */
export type RecoveredFields = Pick<
  TaskRecord,
  'state' | 'latest' | 'latestSeq' | 'handle' | 'kill' | 'hasSandbox' | 'runningSince' | 'health'
>;

/** A new record: STAGING without a sandbox, or what was recovered. */
export function newRecord(spec: TaskSpec, sandbox: Sandbox, recovered?: RecoveredFields): TaskRecord {
  let markEnded!: () => void;
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  const initial = recovered ?? {
    state: 'STAGING',
    latestSeq: 0,
    hasSandbox: false,
    health: spec.healthChecks.length > 0 ? UNKNOWN_HEALTH : undefined,
  };
  return { spec, sandbox, ...initial, queue: Promise.resolve(), ended, markEnded };
}
