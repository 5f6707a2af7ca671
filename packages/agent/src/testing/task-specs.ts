/** TaskSpec builders for tests. Not exported from the package index. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { newTaskId } from '@drover/common';
import { TaskSpec } from '@drover/proto';
import { sandboxFor } from '../sandbox/sandbox.js';
import { eventually } from './fake-master.js';

/** A spec running `cmd` through /bin/sh -c, with a fresh task id; `extra` overrides any field. */
export function shellTask(cmd: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return TaskSpec.fromPartial({
    taskId: newTaskId('/test/app'),
    appId: '/test/app',
    appVersion: '2025-01-01T00:00:00.000Z',
    cmd,
    killGracePeriodSeconds: 1,
    ...extra,
  });
}

/** The file an IGNORE_TERM_SCRIPT task writes in its sandbox once SIGTERM is ignored. */
export const TERM_IGNORED_MARKER = 'term-ignored';

/**
 * A shell script that ignores SIGTERM, for process and container tasks alike.
 *
 * Why the marker: a task is RUNNING as soon as it is spawned, but the shell
 * installs its trap only once it runs, and with cgroups it first goes
 * through the join wrapper (one write per hierarchy, then exec). A SIGTERM
 * sent in that window kills the task, so a test that needs a task to
 * survive SIGTERM waits for the marker (taskIgnoresTerm) before signalling.
 */
export const IGNORE_TERM_SCRIPT = `trap "" TERM; touch "$DROVER_SANDBOX/${TERM_IGNORED_MARKER}"; while true; do sleep 0.05; done`;

/** A process task that ignores SIGTERM (see IGNORE_TERM_SCRIPT). */
export function termIgnoringTask(extra: Partial<TaskSpec> = {}): TaskSpec {
  return shellTask(IGNORE_TERM_SCRIPT, extra);
}

/** Waits until the IGNORE_TERM_SCRIPT task `taskId` of the agent on `workDir` ignores SIGTERM. */
export async function taskIgnoresTerm(workDir: string, taskId: string): Promise<void> {
  await markerWritten(sandboxFor(path.join(workDir, 'tasks'), taskId).dir);
}

/** Waits until the IGNORE_TERM_SCRIPT task with sandbox `sandboxDir` ignores SIGTERM. */
export async function markerWritten(sandboxDir: string): Promise<void> {
  const marker = path.join(sandboxDir, TERM_IGNORED_MARKER);
  await eventually(() => fs.access(marker).then(() => true, () => false), `${marker} (SIGTERM ignored)`);
}
