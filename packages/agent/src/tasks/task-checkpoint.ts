/**
 * A task's checkpoint: what a restarted agent needs to take the task back
 * (its spec, the executor's handle with pid and start time, its latest status
 * and any kill in progress). Kept in the task's sandbox, rewritten atomically
 * on every state change, removed once the master acked the task's final
 * status. A sandbox without a checkpoint belongs to a forgotten task.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@drover/common';
import { TaskSpec, TaskStatus, type TaskReasonName } from '@drover/proto';
import type { TaskHandle } from '../executor/executor.js';
import { CHECKPOINT_FILE } from '../sandbox/sandbox.js';
import type { KillRequest } from './state-change.js';
import { loadJsonFile, removeFileDurably, writeJsonAtomic } from '../checkpoint/atomic-file.js';

/** Everything checkpointed about one task. */
export interface TaskCheckpoint {
  /** What the task runs. */
  readonly spec: TaskSpec;
  /** The executor's handle, once the task was launched. */
  readonly handle?: TaskHandle;
  /** The task's latest status update. */
  readonly status: TaskStatus;
  /** The journal sequence number of that update (orders it against pending ones). */
  readonly statusSeq: number;
  /** The kill in progress, if any. */
  readonly kill?: KillRequest;
  /** When the task became RUNNING (ms since the epoch): health check delays and grace periods count from it. */
  readonly runningSince?: number;
}

interface CheckpointFile {
  version: 1;
  spec: unknown;
  handle?: TaskHandle;
  status: unknown;
  statusSeq: number;
  kill?: { reason: string; message: string; gracePeriodMs: number };
  /** Added after version 1 shipped: absent in older files. */
  runningSince?: number;
}

function isCheckpointFile(value: unknown): value is CheckpointFile {
  const v = value as CheckpointFile;
  return v.version === 1 && typeof v.spec === 'object' && typeof v.status === 'object' && Number.isSafeInteger(v.statusSeq);
}

/** Writes a task's checkpoint atomically, and durably unless `durable: false` (see atomic-file.ts). */
export async function saveTaskCheckpoint(file: string, checkpoint: TaskCheckpoint, options: { durable?: boolean } = {}): Promise<void> {
  const content: CheckpointFile = {
    version: 1,
    spec: TaskSpec.toJSON(checkpoint.spec),
    handle: checkpoint.handle,
    status: TaskStatus.toJSON(checkpoint.status),
    statusSeq: checkpoint.statusSeq,
    kill: checkpoint.kill,
    runningSince: checkpoint.runningSince,
  };
  await writeJsonAtomic(file, content, options);
}

/** Removes a task's checkpoint (its sandbox stays). */
export async function removeTaskCheckpoint(file: string): Promise<void> {
  await removeFileDurably(file);
}

/** Every checkpoint found in the sandboxes under `tasksDir`; unreadable ones are logged and skipped. */
export async function loadTaskCheckpoints(tasksDir: string, logger: Logger): Promise<TaskCheckpoint[]> {
  let names: string[];
  try {
    names = await fs.readdir(tasksDir);
  } catch {
    return [];
  }
  const found: TaskCheckpoint[] = [];
  for (const name of names.sort()) {
    const file = path.join(tasksDir, name, CHECKPOINT_FILE);
    try {
      const content = await loadJsonFile(file, isCheckpointFile);
      if (content === undefined) continue;
      found.push({
        spec: TaskSpec.fromJSON(content.spec),
        handle: content.handle,
        status: TaskStatus.fromJSON(content.status),
        statusSeq: content.statusSeq,
        kill:
          content.kill === undefined
            ? undefined
            : { ...content.kill, reason: content.kill.reason as TaskReasonName },
        runningSince: Number.isFinite(content.runningSince) ? content.runningSince : undefined,
      });
    } catch (e) {
      logger.error({ file, err: e }, 'skipping unreadable task checkpoint');
    }
  }
  return found;
}
