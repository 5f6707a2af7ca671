/**
 * Resource isolation of process tasks with Linux cgroups (v1 or v2).
 *
 * Layout. At start the agent detects which cgroup version it can use
 * (cgroup-detect.ts) and creates its own parent cgroup
 * `drover/<hash of the work dir>` at the top of each hierarchy it uses, so
 * two agents on one machine never share (or clean up) each other's task
 * cgroups, and nothing of Docker's (`/docker`, `system.slice/docker-*`) or
 * anyone else's is touched. Each task gets `drover/<hash>/<task id>`, whose
 * path (relative to the hierarchy root, the same in every v1 hierarchy) is
 * recorded in the task handle, so a restarted agent finds it again.
 *
 * Limits (cgroup-limits.ts): the task's `mem` is a hard memory limit, swap
 * included, because a task that may swap is not limited at all, only slowed
 * (v1 memory.memsw.limit_in_bytes, v2 memory.swap.max = 0); `cpus` is both a
 * hard cap through the CFS quota (so 0.2 means at most 20% of one core even
 * on an idle machine, as it would on a busy one) and a weight for sharing
 * under contention; and the number of processes is capped (agent option
 * `pidsLimit`) so a fork bomb stays inside its task.
 *
 * Joining. A task must be inside its cgroup from its first instruction: a
 * process moved in after it started may already have forked children that
 * stay outside, and may already have allocated memory that is then never
 * limited. So the executor does not start the task's program but a tiny
 * /bin/sh wrapper (join-wrapper.ts) that writes its own pid into the
 * cgroup.procs files and only then execs the program. Same pid, same session
 * and process group, same output files: everything the process executor
 * relies on stays true, and every child inherits the cgroup.
 *
 * Ends. When the kernel's OOM killer fires inside a task's cgroup its counter
 * there goes up (v1 memory.oom_control `oom_kill`, v2 memory.events
 * `oom_kill`); the executor reads it once the task's main process ended and
 * reports the exit with `oom: true`. Then the cgroup is emptied (every
 * process still in it is SIGKILLed: children that left the process group with
 * setsid cannot escape this way) and removed, retrying while the kernel still
 * counts exiting processes in it.
 *
 * Without usable cgroups (agent not root, no controllers, read-only mount)
 * tasks still run, unlimited: the agent says so once in its log and reports
 * the capability `isolation:none`, so the master knows.
 */

/** Which isolation an agent has; reported to the master as `isolation:<kind>`. */
export type IsolationKind = 'cgroups-v1' | 'cgroups-v2' | 'none';

/** Default cap on the number of processes (threads included) of one task. */
export const DEFAULT_PIDS_LIMIT = 4096;

/** The limits of one task's cgroup. */
export interface TaskLimits {
  /** CPU cores (fractional); 0 or less means no CPU cap and the default weight. */
  readonly cpus: number;
  /** Memory in MiB; 0 or less means no memory limit. */
  readonly memMiB: number;
  /** Maximum number of processes and threads; 0 or less means no limit. */
  readonly pids: number;
}

/** One task's cgroup (in every hierarchy it spans). */
export interface TaskCgroup {
  /** Path relative to the hierarchy root, for example "drover/3fa2c1d0e9b8/web.1"; checkpointed. */
  readonly path: string;
  /** The cgroup.procs files a process writes its own pid to, to join (one per v1 hierarchy). */
  readonly procsFiles: readonly string[];
  /** The pids of the processes in the cgroup now. */
  pids(): Promise<number[]>;
  /** How many processes the kernel OOM-killed in this cgroup so far. */
  oomKills(): Promise<number>;
  /** CPU time used by the cgroup's processes so far, in nanoseconds; undefined if not accounted. */
  cpuUsageNs(): Promise<number | undefined>;
  /** SIGKILLs every process left in the cgroup and removes it; fine if it is gone already. */
  destroy(): Promise<void>;
}

/** Creates and finds task cgroups for one agent. */
export interface Isolator {
  /** What the agent has. */
  readonly kind: IsolationKind;
  /** The Register capability, for example "isolation:cgroups-v2". */
  readonly capability: string;
  /** Creates the task's cgroup with `limits`; undefined when there is no isolation. */
  create(taskId: string, limits: TaskLimits): Promise<TaskCgroup | undefined>;
  /** The limits a task spec asks for, with the agent's pids cap. */
  limitsOf(resources: { readonly cpus: number; readonly mem: number } | undefined): TaskLimits;
  /**
   * A checkpointed task's cgroup again, from the path recorded at launch.
   * Undefined when the path is not the one this agent would give the task
   * (a checkpoint must not make the agent kill processes in someone else's
   * cgroup) or when there is no isolation.
   */
  reopen(taskId: string, path: string): TaskCgroup | undefined;
  /**
   * The cgroup this agent gives the task, whether or not it exists (destroy
   * is fine either way): for one found at recovery that no checkpoint names.
   * Undefined without isolation.
   */
  expected(taskId: string): TaskCgroup | undefined;
  /** Ids of the task cgroups under this agent's parent now (with or without processes). */
  taskIds(): Promise<string[]>;
  /** Removes the agent's parent cgroup if no task cgroup is left in it; never throws. */
  close(): Promise<void>;
}

/** The Register capability of an isolation kind. */
export function isolationCapability(kind: IsolationKind): string {
  return `isolation:${kind}`;
}

/** No isolation: tasks run unlimited. */
export class NoIsolation implements Isolator {
  /** Always "none". */
  readonly kind = 'none';
  /** Always "isolation:none". */
  readonly capability = isolationCapability('none');

  constructor(private readonly pidsLimit = DEFAULT_PIDS_LIMIT) {}

  create(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  limitsOf(resources: { readonly cpus: number; readonly mem: number } | undefined): TaskLimits {
    return { cpus: resources?.cpus ?? 0, memMiB: resources?.mem ?? 0, pids: this.pidsLimit };
  }

  reopen(): undefined {
    return undefined;
  }

  expected(): undefined {
    return undefined;
  }

  taskIds(): Promise<string[]> {
    return Promise.resolve([]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
