/**
 * Applying an agent's TaskStatus update. Updates arrive at least once and
 * possibly out of order (a resend after a reconnect may follow a newer
 * status in the agent's Register), so applying is idempotent: the state
 * machine ignores repeats and backward moves, and the agent is acked either
 * way. A live task the master no longer wants (it was given up as LOST,
 * its app is gone, or the master never heard of it) is killed on sight.
 */
import { isLive, type Logger } from '@drover/common';
import { type TaskStatus, taskStateCodec } from '@drover/proto';
import type { Clock } from '../model/clock.js';
import type { TaskFailures } from './task-failures.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { TaskRecord } from '../model/records.js';
import type { TaskCommands } from './task-commands.js';
import { applyStatus } from './task-updates.js';

/** Grace period for killing tasks the master does not know. */
const ORPHAN_KILL_GRACE_SECONDS = 3;

/** Applies task status updates from agents. */
export class StatusHandler {
  constructor(
    private readonly state: ClusterState,
    private readonly commands: TaskCommands,
    private readonly failures: TaskFailures,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * Records one update from `agentId`. Resolves when the change is durable
   * (the caller acks the agent then). Returns the updated record, if any.
   */
  async handle(agentId: string, status: TaskStatus): Promise<TaskRecord | undefined> {
    const task = this.state.task(status.taskId);
    const reported = taskStateCodec.name(status.state);
    const reportedLive = reported !== undefined && isLive(reported);
    if (!task || task.agentId !== agentId) {
      if (reportedLive) this.killOrphan(agentId, status.taskId, 'the master does not know this task');
      return undefined;
    }
    const updated = applyStatus(task, status, this.clock.now());
    if (!updated) {
      if (reportedLive && !isLive(task.state)) {
        this.killOrphan(agentId, task.id, `the master already considers it ${task.state}`);
      }
      return undefined;
    }
    this.log.debug({ taskId: task.id, from: task.state, to: updated.state }, 'task state changed');
    await this.state.write([{ kind: 'putTask', task: updated }, ...this.failures.observe(task, updated)]);
    return updated;
  }

  /** Kills a task the agent runs but the master does not want. */
  killOrphan(agentId: string, taskId: string, why: string): void {
    this.log.info({ agentId, taskId, why }, 'killing orphaned task');
    this.commands.kill(agentId, taskId, ORPHAN_KILL_GRACE_SECONDS, 'ORPHANED', `killed as orphan: ${why}`);
  }
}
