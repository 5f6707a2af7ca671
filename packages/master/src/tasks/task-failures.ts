/**
 * What follows when a task of an app ends on its own (FAILED, or FINISHED:
 * an app's tasks are meant to keep running): the app's launch backoff grows
 * and the failure is recorded on the app as lastTaskFailure, so it outlives
 * the task, its sandbox and its agent; the backoff is persisted with it. Kills the master asked for and lost
 * agents are not the app's fault and count for neither.
 */
import type { Clock } from '../model/clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AppRecord, TaskFailureRecord, TaskRecord } from '../model/records.js';
import type { Mutation } from '../model/mutation.js';
import type { LaunchBackoff } from './launch-backoff.js';

/** Observes task ends and produces the app updates they cause. */
export class TaskFailures {
  constructor(
    private readonly state: ClusterState,
    private readonly backoff: LaunchBackoff,
    private readonly clock: Clock,
  ) {}

  /** The mutations to write with the task change `before` -> `after` (empty if it is not a failure). */
  observe(before: TaskRecord, after: TaskRecord): Mutation[] {
    if (before.state === after.state || after.appId === '') return [];
    // A task killed because its health checks kept failing failed too.
    const failed = after.healthKill ? after.state === 'KILLED' || after.state === 'FAILED' : !after.killRequested && (after.state === 'FAILED' || after.state === 'FINISHED');
    if (!failed) return [];
    const app = this.state.app(after.appId);
    if (!app) return [];
    const endedAt = after.endedAt ?? this.clock.now();
    if (after.appVersion === app.version) this.backoff.failed(app, endedAt);
    const failure: TaskFailureRecord = {
      taskId: after.id,
      agentId: after.agentId,
      host: after.host,
      timestamp: endedAt,
      state: after.state,
      ...(after.exitCode !== undefined ? { exitCode: after.exitCode } : {}),
      ...(after.signal !== undefined ? { signal: after.signal } : {}),
      message: after.healthKill ? `health checks failed: ${after.healthMessage ?? 'no output'}` : (after.message ?? ''),
      stderrTail: after.stderrTail ?? '',
      appVersion: after.appVersion,
    };
    const launchBackoff = this.backoff.record(app);
    const updated: AppRecord = { ...app, lastTaskFailure: failure, ...(launchBackoff !== undefined ? { launchBackoff } : {}) };
    return [{ kind: 'putApp', app: updated }];
  }
}
