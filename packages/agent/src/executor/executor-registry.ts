/**
 * The agent's executors behind one Executor, so the task manager needs to
 * know none of them. A launch goes to the executor the spec asks for (a
 * DOCKER container to "docker", anything else to "process"); every later
 * call about a task goes to the executor that launched or re-adopted it, and
 * recover and remove go by the executor name recorded in the handle. An
 * executor that is not registered is a loud failure, never a fallback.
 */
import { Code, DroverError, NotFoundError, type Logger } from '@drover/common';
import { ContainerType, type TaskSpec } from '@drover/proto';
import {
  type Executor,
  type ExecutorCapabilities,
  type LaunchRequest,
  LaunchError,
  type TaskCommandRunner,
  type TaskExit,
  type TaskHandle,
} from './executor.js';

/** The name of the executor a spec runs on. */
export function executorNameFor(spec: TaskSpec): string {
  return spec.container?.type === ContainerType.CONTAINER_TYPE_DOCKER ? 'docker' : 'process';
}

/** Routes each task to its executor (see the top of the file). */
export class ExecutorRegistry implements Executor {
  /** Not recorded in handles: those carry the name of the executor that ran the task. */
  readonly name = 'registry';
  /** What every registered executor can do. */
  readonly capabilities: ExecutorCapabilities;

  private readonly byName = new Map<string, Executor>();
  private readonly byTask = new Map<string, Executor>();
  private readonly log: Logger;

  constructor(
    executors: readonly Executor[],
    logger: Logger,
    /** Picks the executor of a spec by name; default executorNameFor. */
    private readonly choose: (spec: TaskSpec) => string = executorNameFor,
  ) {
    for (const e of executors) {
      if (this.byName.has(e.name)) throw new DroverError(`two executors are named ${e.name}`, Code.InvalidArgument);
      this.byName.set(e.name, e);
    }
    this.capabilities = {
      recover: executors.every((e) => e.capabilities.recover),
      exitStatusAfterRecover: executors.every((e) => e.capabilities.exitStatusAfterRecover),
    };
    this.log = logger.child({ component: 'executor-registry' });
  }

  /** The executor registered under `name`, if any. */
  get(name: string): Executor | undefined {
    return this.byName.get(name);
  }

  launch(request: LaunchRequest): Promise<TaskHandle> {
    const taskId = request.spec.taskId;
    const name = this.choose(request.spec);
    const executor = this.byName.get(name);
    if (executor === undefined) {
      return Promise.reject(new LaunchError(taskId, `this agent has no ${name} executor`));
    }
    this.byTask.set(taskId, executor);
    return executor.launch(request);
  }

  wait(taskId: string): Promise<TaskExit> {
    const executor = this.byTask.get(taskId);
    if (executor === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return executor.wait(taskId);
  }

  kill(taskId: string, gracePeriodMs: number): Promise<TaskExit> {
    const executor = this.byTask.get(taskId);
    if (executor === undefined) return Promise.reject(new NotFoundError('task', taskId));
    return executor.kill(taskId, gracePeriodMs);
  }

  async recover(handles: readonly TaskHandle[]): Promise<Set<string>> {
    const adopted = new Set<string>();
    for (const [name, executor] of this.byName) {
      // Every executor is asked, even with no handles: recovery is also when
      // an executor clears what no checkpoint knows (orphaned containers).
      const mine = handles.filter((h) => h.executor === name);
      for (const id of await executor.recover(mine)) {
        adopted.add(id);
        this.byTask.set(id, executor);
      }
    }
    for (const h of handles) {
      if (!this.byName.has(h.executor)) {
        this.log.error({ taskId: h.taskId, executor: h.executor }, 'no executor of that name: the task counts as gone');
      }
    }
    return adopted;
  }

  async remove(handle: TaskHandle): Promise<void> {
    const executor = this.byName.get(handle.executor);
    if (executor === undefined) return;
    await executor.remove(handle);
    if (this.byTask.get(handle.taskId) === executor) this.byTask.delete(handle.taskId);
  }

  close(): void {
    for (const executor of this.byName.values()) executor.close();
  }

  commandRunner(taskId: string): TaskCommandRunner | undefined {
    return this.byTask.get(taskId)?.commandRunner?.(taskId);
  }
}
