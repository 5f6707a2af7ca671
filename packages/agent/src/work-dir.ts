/**
 * Where the agent keeps its state inside the work dir. One place, so the
 * layout can be read (and changed) at a glance:
 *
 *   <workDir>/agent-id.json        durable agent id and agent secret (from Registered; mode 0600)
 *   <workDir>/epoch.json           highest master epoch seen (fencing)
 *   <workDir>/boot-id.json         a made-up boot id, only where the kernel has none (checkpoint/boot-id.ts)
 *   <workDir>/status/<seq>.json    status updates not yet acked by the master
 *   <workDir>/tasks/<taskId>/      a task's sandbox (its cwd, stdout, stderr)
 *   <workDir>/tasks/<taskId>/.drover-task.json   the task's checkpoint
 *   <workDir>/cache/               fetched artifacts with `cache: true` (fetch/artifact-cache.ts)
 */
import path from 'node:path';

/** Absolute paths of everything the agent keeps in its work dir. */
export interface WorkDirLayout {
  /** The work dir itself. */
  readonly root: string;
  /** The durable agent id and the secret that proves it. */
  readonly agentIdFile: string;
  /** The highest master epoch seen. */
  readonly epochFile: string;
  /** The boot id kept where the kernel gives none. */
  readonly bootIdFile: string;
  /** Pending (unacked) status updates, one file each. */
  readonly statusDir: string;
  /** Parent of every task sandbox. */
  readonly tasksDir: string;
  /** The artifact cache (created on first use). */
  readonly cacheDir: string;
}

/** The layout of the work dir at `root` (made absolute). */
export function workDirLayout(root: string): WorkDirLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    agentIdFile: path.join(abs, 'agent-id.json'),
    epochFile: path.join(abs, 'epoch.json'),
    bootIdFile: path.join(abs, 'boot-id.json'),
    statusDir: path.join(abs, 'status'),
    tasksDir: path.join(abs, 'tasks'),
    cacheDir: path.join(abs, 'cache'),
  };
}
