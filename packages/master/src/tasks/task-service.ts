/**
 * Task queries and kills, shared by every API surface. Ended tasks stay
 * visible for a while (see TaskHistory) so "why did it die" has an answer.
 */
import { isLive, NotFoundError, normalizeAppId } from '@drover/common';
import type { Task } from '@drover/proto';
import { taskToProto } from '../convert/to-proto.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { TaskRecord } from '../state/records.js';
import type { TaskKiller } from './task-killer.js';

/** Filter for task lists. */
export interface TaskFilter {
  /** Only this app's tasks. */
  appId?: string;
  /** Include ended tasks. */
  includeEnded?: boolean;
}

/** Task list/get/kill. */
export class TaskService {
  constructor(
    private readonly state: ClusterState,
    private readonly killer: TaskKiller,
  ) {}

  /** Live tasks first, then ended ones; each by app id then staging time. */
  list(filter: TaskFilter = {}): Task[] {
    const source = filter.appId ? this.state.tasksOfApp(normalizeAppId(filter.appId)) : this.state.allTasks();
    return source
      .filter((t) => filter.includeEnded || isLive(t.state))
      .sort(byLiveAppStaged)
      .map(taskToProto);
  }

  /** One task. */
  get(id: string): Task {
    return taskToProto(this.require(id));
  }

  /** Kills one task; its app (if any) replaces it. */
  async kill(id: string): Promise<Task> {
    const task = this.require(id);
    if (!isLive(task.state)) return taskToProto(task);
    const [marked] = await this.killer.kill([task], 'killed on request');
    return taskToProto(marked ?? this.require(id));
  }

  private require(id: string): TaskRecord {
    const task = this.state.task(id);
    if (!task) throw new NotFoundError('task', id);
    return task;
  }
}

function byLiveAppStaged(a: TaskRecord, b: TaskRecord): number {
  return (
    Number(isLive(b.state)) - Number(isLive(a.state)) || a.appId.localeCompare(b.appId) || a.stagedAt - b.stagedAt
  );
}
