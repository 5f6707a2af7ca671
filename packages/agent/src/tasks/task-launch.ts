/**
 * Starting one task, inside its queue: the sandbox (made durable in the
 * tasks directory, one fsync of it for a whole burst), STARTING, the
 * artifacts, the executor's launch, RUNNING. A kill that arrived meanwhile
 * stops the launch at the next step.
 */
import { DroverError } from '@drover/common';
import { GroupSync } from '../checkpoint/group-sync.js';
import { type Executor, LaunchError } from '../executor/executor.js';
import type { Fetcher } from '../fetch/fetcher.js';
import { createSandbox } from '../sandbox/sandbox.js';
import type { TaskRecord } from './task-record.js';
import type { TaskUpdates } from './task-updates.js';

/** What a TaskLauncher works with. */
export interface TaskLauncherOptions {
  readonly executor: Executor;
  readonly fetcher: Fetcher;
  readonly updates: TaskUpdates;
  /** Parent directory of the sandboxes. */
  readonly tasksDir: string;
  /** Address tasks are reachable at (HOST). */
  readonly host: string;
  /** True once the manager is closed. */
  readonly closed: () => boolean;
  /** Starts watching a launched task for its end. */
  readonly watch: (record: TaskRecord) => void;
}

/** Launches tasks (see the top of the file). */
export class TaskLauncher {
  private readonly tasksDirSync: GroupSync;

  constructor(private readonly options: TaskLauncherOptions) {
    this.tasksDirSync = new GroupSync(options.tasksDir);
  }

  /** Takes a STAGING task to RUNNING, or to its terminal state when it cannot start. Runs inside its queue. */
  async start(record: TaskRecord): Promise<void> {
    const { spec, sandbox } = record;
    const { updates, executor } = this.options;
    try {
      await createSandbox(sandbox);
      // The checkpoint written next must survive a power loss, and so must the directory it is in.
      await this.tasksDirSync.sync();
      record.hasSandbox = true;
    } catch (e) {
      const message = `cannot create the sandbox: ${DroverError.from(e).rawMessage}`;
      await updates.change(record, { state: 'FAILED', reason: 'LAUNCH_FAILED', message });
      return;
    }
    if (record.kill !== undefined) {
      await updates.change(record, { state: 'KILLED', reason: record.kill.reason, message: 'killed before it was started' });
      return;
    }
    await updates.change(record, { state: 'STARTING', message: 'launching' });
    if (spec.fetch.length > 0 && !(await this.fetchArtifacts(record))) return;
    try {
      record.handle = await executor.launch({ spec, sandbox, host: this.options.host });
    } catch (e) {
      const reason = e instanceof LaunchError ? e.reason : 'LAUNCH_FAILED';
      await updates.change(record, { state: 'FAILED', reason, message: DroverError.from(e).rawMessage });
      return;
    }
    this.options.watch(record);
    await updates.change(record, { state: 'RUNNING', message: `running as pid ${record.handle.pid}` });
  }

  /**
   * Puts the task's artifacts into its sandbox while it is STARTING. False
   * when the task must not start: the fetch failed (FAILED / FETCH_FAILED,
   * with the FetchError's one line), it was killed meanwhile (KILLED), or the
   * agent is stopping (no status: recovery reports the task as never started).
   */
  private async fetchArtifacts(record: TaskRecord): Promise<boolean> {
    const { updates } = this.options;
    const controller = new AbortController();
    record.fetching = controller;
    let failure: string | undefined;
    try {
      await this.options.fetcher.fetchAll(record.spec.fetch, {
        taskId: record.spec.taskId,
        sandboxDir: record.sandbox.dir,
        signal: controller.signal,
      });
    } catch (e) {
      failure = DroverError.from(e).rawMessage;
    } finally {
      record.fetching = undefined;
    }
    if (this.options.closed()) return false;
    if (record.kill !== undefined) {
      await updates.change(record, { state: 'KILLED', reason: record.kill.reason, message: 'killed while fetching its artifacts' });
      return false;
    }
    if (failure !== undefined) {
      await updates.change(record, { state: 'FAILED', reason: 'FETCH_FAILED', message: failure });
      return false;
    }
    return true;
  }
}
