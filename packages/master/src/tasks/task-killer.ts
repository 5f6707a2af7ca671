/**
 * Killing tasks on purpose (scale-down, app delete, user request). The kill
 * is recorded first (killRequested, durable), then sent. If the agent is not
 * connected the command is not lost: the agent's next registration resends
 * kills for every live task marked killRequested.
 */
import type { ClusterState } from '../state/cluster-state.js';
import type { TaskRecord } from '../model/records.js';
import type { Clock } from '../model/clock.js';
import type { TaskCommands } from './task-commands.js';
import { markKillRequested } from './task-updates.js';

/** Records and sends kills. */
export class TaskKiller {
  constructor(
    private readonly state: ClusterState,
    private readonly commands: TaskCommands,
    private readonly clock: Clock,
  ) {}

  /** Marks the tasks for killing, durably, then tells their agents. */
  async kill(tasks: readonly TaskRecord[], message: string, options: { healthKill?: boolean } = {}): Promise<TaskRecord[]> {
    const now = this.clock.now();
    const marked = tasks
      .filter((t) => !t.killRequested)
      .map((t) => markKillRequested(t, message, now))
      .map((t) => (options.healthKill ? { ...t, healthKill: true } : t));
    if (marked.length === 0) return [];
    await this.state.putTasks(marked);
    for (const t of marked) this.commands.kill(t.agentId, t.id, t.killGracePeriodSeconds, 'KILL_REQUESTED', message);
    return marked;
  }
}
