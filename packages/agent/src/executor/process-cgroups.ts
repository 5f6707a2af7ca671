/**
 * The process executor's use of task cgroups (isolation/isolation.ts has
 * the design): creating one per task with its limits, trusting a
 * checkpointed one only when it is the one this agent would give the task,
 * removing it with whatever still runs in it, and asking it whether the
 * kernel OOM-killed the task.
 */
import { DroverError, type Logger } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import type { Isolator, TaskCgroup } from '../isolation/isolation.js';
import { LaunchError, type TaskExit, type TaskHandle } from './executor.js';

/** Task cgroups of one process executor; every failure but creation's is logged, not thrown. */
export class ProcessCgroups {
  constructor(
    private readonly isolator: Isolator,
    private readonly log: Logger,
  ) {}

  /** Creates the task's cgroup with its limits (undefined without isolation); LaunchError when it cannot. */
  async create(spec: TaskSpec): Promise<TaskCgroup | undefined> {
    try {
      return await this.isolator.create(spec.taskId, this.isolator.limitsOf(spec.resources));
    } catch (e) {
      throw new LaunchError(spec.taskId, `cannot isolate the task: ${DroverError.from(e).rawMessage}`, e);
    }
  }

  /** The cgroup a checkpointed handle names, if this agent would have given it to the task. */
  recorded(handle: TaskHandle): TaskCgroup | undefined {
    const recorded = handle.details.cgroup;
    if (typeof recorded !== 'string') return undefined;
    const cgroup = this.isolator.reopen(handle.taskId, recorded);
    if (cgroup === undefined) {
      this.log.warn({ taskId: handle.taskId, cgroup: recorded, isolation: this.isolator.kind }, 'not managing the recorded cgroup of the task');
    }
    return cgroup;
  }

  /** Kills what is left in a task's cgroup and removes it. */
  async remove(taskId: string, cgroup: TaskCgroup | undefined): Promise<void> {
    if (cgroup === undefined) return;
    try {
      await cgroup.destroy();
    } catch (e) {
      this.log.error({ taskId, cgroup: cgroup.path, err: e }, 'cannot remove the task cgroup');
    }
  }

  /**
   * Kills and removes this agent's task cgroups that `known` does not name:
   * what a task left when its checkpoint was lost, or ended with the agent
   * before its cgroup went. The Docker executor does the same for containers.
   */
  async removeUnknown(known: (taskId: string) => boolean): Promise<void> {
    for (const taskId of await this.isolator.taskIds()) {
      if (known(taskId)) continue;
      this.log.warn({ taskId }, 'removing a task cgroup that no checkpoint knows, with whatever runs in it');
      await this.remove(taskId, this.isolator.expected(taskId));
    }
  }

  /** `exit`, marked as an OOM kill when the kernel OOM-killed in the task's cgroup and the task did not end well. */
  async withOom(taskId: string, cgroup: TaskCgroup | undefined, exit: TaskExit): Promise<TaskExit> {
    if (cgroup === undefined || exit.kind === 'unknown') return exit;
    if (exit.kind === 'exited' && exit.exitCode === 0) return exit;
    const kills = await cgroup.oomKills().catch(() => 0);
    if (kills === 0) return exit;
    this.log.warn({ taskId, oomKills: kills, exit }, 'task went over its memory limit and was OOM-killed');
    return { ...exit, oom: true };
  }
}
