/**
 * A task's sandbox: the directory the task runs in, with its stdout and
 * stderr files and the agent's checkpoint of the task. The directory is named
 * after the task id, so the id must be a safe single path segment; the
 * sandbox stays on disk after the task is forgotten (its logs are the
 * evidence of what happened) until the SandboxCollector removes it by age or
 * total size; the LogRotator keeps stdout and stderr bounded meanwhile.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code, DroverError } from '@drover/common';

/** Paths of one task's sandbox. */
export interface Sandbox {
  /** The task's working directory (exported as DROVER_SANDBOX). */
  readonly dir: string;
  /** File the task's stdout is appended to. */
  readonly stdoutPath: string;
  /** File the task's stderr is appended to. */
  readonly stderrPath: string;
  /** The agent's checkpoint of the task. */
  readonly checkpointPath: string;
}

/** Name of the checkpoint file inside a sandbox. */
export const CHECKPOINT_FILE = '.drover-task.json';

const SAFE_TASK_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** A task id that cannot name a sandbox directory. */
export class UnsafeTaskIdError extends DroverError {
  override name = 'UnsafeTaskIdError';
  constructor(
    /** The rejected id. */
    readonly taskId: string,
  ) {
    super(`task id ${JSON.stringify(taskId)} is not a safe directory name`, Code.InvalidArgument);
  }
}

/** The sandbox of `taskId` under `tasksDir`; throws UnsafeTaskIdError for ids like "../x". */
export function sandboxFor(tasksDir: string, taskId: string): Sandbox {
  if (!SAFE_TASK_ID.test(taskId)) throw new UnsafeTaskIdError(taskId);
  const dir = path.join(tasksDir, taskId);
  return {
    dir,
    stdoutPath: path.join(dir, 'stdout'),
    stderrPath: path.join(dir, 'stderr'),
    checkpointPath: path.join(dir, CHECKPOINT_FILE),
  };
}

/** Creates the sandbox directory (and parents); fine if it exists. */
export async function createSandbox(sandbox: Sandbox): Promise<void> {
  await fs.mkdir(sandbox.dir, { recursive: true, mode: 0o755 });
}
