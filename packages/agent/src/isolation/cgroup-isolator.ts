/**
 * Task cgroups on a detected layout (cgroup-detect.ts finds the layout; see
 * isolation.ts for the design). v1 mounts each controller in a hierarchy of
 * its own, so one task cgroup is a directory in each of them (the same
 * relative path everywhere); v2 has a single tree and one directory.
 */
import fs, { promises as fsAsync } from 'node:fs';
import path from 'node:path';
import { Code, DroverError, type Logger } from '@drover/common';
import { type CgroupFeatures, type Controller, limitWrites } from './cgroup-limits.js';
import {
  DEFAULT_PIDS_LIMIT,
  type IsolationKind,
  type Isolator,
  isolationCapability,
  type TaskCgroup,
  type TaskLimits,
} from './isolation.js';

/** Where one agent's cgroups live, as detection found them. */
export interface CgroupLayout {
  /** cgroup version. */
  readonly version: 1 | 2;
  /**
   * Root directory of the hierarchy each controller is in (all the same for
   * v2). `cpuacct` is optional: without it CPU usage is not read.
   */
  readonly mounts: Readonly<Record<Controller, string>> & { readonly cpuacct?: string };
  /** The agent's parent cgroup relative to each root, for example "drover/3fa2c1d0e9b8". */
  readonly parent: string;
  /** What the kernel offers beyond the basics. */
  readonly features: CgroupFeatures;
}

/** A cgroup could not be created, limited or removed. */
export class CgroupError extends DroverError {
  override name = 'CgroupError';
  constructor(
    /** The cgroup, relative to the hierarchy root. */
    readonly cgroup: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, Code.Internal, { cause });
  }
}

/** How long destroy keeps killing and retrying rmdir before it gives up. */
const DESTROY_TIMEOUT_MS = 10_000;
const DESTROY_RETRY_MS = 20;

/** Task ids become directory names: one plain segment, nothing that walks the tree. */
function isSafeName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/.test(name);
}

/** The directories of one agent's parent cgroup (one per distinct hierarchy). */
export function parentDirs(layout: CgroupLayout): string[] {
  return distinct(Object.values(layout.mounts).map((mount) => path.join(mount, layout.parent)));
}

/** Creates, limits, finds and removes the task cgroups of one agent. */
export class CgroupIsolator implements Isolator {
  /** "cgroups-v1" or "cgroups-v2". */
  readonly kind: IsolationKind;
  /** "isolation:cgroups-v1" or "isolation:cgroups-v2". */
  readonly capability: string;
  private readonly log: Logger;

  constructor(
    /** Where the cgroups live. */
    readonly layout: CgroupLayout,
    logger: Logger,
    private readonly pidsLimit = DEFAULT_PIDS_LIMIT,
  ) {
    this.kind = layout.version === 1 ? 'cgroups-v1' : 'cgroups-v2';
    this.capability = isolationCapability(this.kind);
    this.log = logger.child({ component: 'cgroups' });
  }

  limitsOf(resources: { readonly cpus: number; readonly mem: number } | undefined): TaskLimits {
    return { cpus: resources?.cpus ?? 0, memMiB: resources?.mem ?? 0, pids: this.pidsLimit };
  }

  async create(taskId: string, limits: TaskLimits): Promise<TaskCgroup> {
    const cgroup = this.cgroupOf(taskId);
    if (cgroup === undefined) throw new CgroupError(taskId, `task id ${JSON.stringify(taskId)} cannot name a cgroup`);
    try {
      for (const dir of cgroup.dirs) await fsAsync.mkdir(dir, { recursive: true });
      for (const write of limitWrites(this.layout.version, limits, this.layout.features)) {
        const file = path.join(cgroup.dirOf(write.controller), write.file);
        try {
          fs.writeFileSync(file, write.value);
        } catch (e) {
          throw new CgroupError(cgroup.path, `cannot write ${write.value} to ${file}: ${DroverError.from(e).rawMessage}`, e);
        }
      }
    } catch (e) {
      await cgroup.destroy().catch(() => undefined);
      if (e instanceof CgroupError) throw e;
      throw new CgroupError(cgroup.path, `cannot create cgroup ${cgroup.path}: ${DroverError.from(e).rawMessage}`, e);
    }
    this.log.debug({ taskId, cgroup: cgroup.path, ...limits }, 'task cgroup created');
    return cgroup;
  }

  reopen(taskId: string, recorded: string): TaskCgroup | undefined {
    const cgroup = this.cgroupOf(taskId);
    if (cgroup === undefined || cgroup.path !== recorded) {
      this.log.warn({ taskId, recorded, expected: cgroup?.path }, 'ignoring a checkpointed cgroup that is not this task’s');
      return undefined;
    }
    return cgroup;
  }

  expected(taskId: string): TaskCgroup | undefined {
    return this.cgroupOf(taskId);
  }

  async taskIds(): Promise<string[]> {
    const ids = new Set<string>();
    for (const dir of parentDirs(this.layout)) {
      const entries = readdirIfThere(dir);
      for (const e of entries) if (e.isDirectory() && isSafeName(e.name)) ids.add(e.name);
    }
    return [...ids];
  }

  async close(): Promise<void> {
    // rmdir only succeeds on a cgroup without children: live tasks keep it.
    for (const dir of parentDirs(this.layout)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // Live tasks keep it, or it is gone.
      }
    }
  }

  private cgroupOf(taskId: string): CgroupDirs | undefined {
    if (!isSafeName(taskId)) return undefined;
    return new CgroupDirs(this.layout, `${this.layout.parent}/${taskId}`);
  }
}

/** One task's cgroup: a directory per distinct hierarchy. */
class CgroupDirs implements TaskCgroup {
  readonly dirs: string[];
  readonly procsFiles: string[];

  constructor(
    private readonly layout: CgroupLayout,
    readonly path: string,
  ) {
    this.dirs = distinct(Object.values(layout.mounts).map((mount) => this.under(mount)));
    this.procsFiles = this.dirs.map((dir) => `${dir}/cgroup.procs`);
  }

  dirOf(controller: Controller | 'cpuacct'): string {
    const mount = this.layout.mounts[controller];
    if (mount === undefined) throw new CgroupError(this.path, `no ${controller} hierarchy`);
    return this.under(mount);
  }

  async pids(): Promise<number[]> {
    const all = new Set<number>();
    for (const file of this.procsFiles) {
      const text = readIfThere(file);
      for (const line of (text ?? '').split('\n')) if (line !== '') all.add(Number(line));
    }
    return [...all];
  }

  async oomKills(): Promise<number> {
    const dir = this.dirOf('memory');
    // v1 counts in memory.oom_control, v2 in memory.events. (v1 has the
    // counter since Linux 4.13; the distributions with the glibc Node 20
    // needs ship 4.18 or later, so no failcnt guesswork is needed.)
    const file = this.layout.version === 1 ? 'memory.oom_control' : 'memory.events';
    const text = readIfThere(path.join(dir, file));
    return Number(/^oom_kill (\d+)$/m.exec(text ?? '')?.[1] ?? 0);
  }

  async cpuUsageNs(): Promise<number | undefined> {
    if (this.layout.version === 2) {
      const text = readIfThere(path.join(this.dirOf('cpu'), 'cpu.stat'));
      const usec = /^usage_usec (\d+)$/m.exec(text ?? '')?.[1];
      return usec === undefined ? undefined : Number(usec) * 1000;
    }
    if (this.layout.mounts.cpuacct === undefined) return undefined;
    const text = readIfThere(path.join(this.dirOf('cpuacct'), 'cpuacct.usage'));
    return text === undefined ? undefined : Number(text.trim());
  }

  async destroy(): Promise<void> {
    const deadline = Date.now() + DESTROY_TIMEOUT_MS;
    let left = [...this.dirs];
    for (;;) {
      await this.killAll();
      const busy: string[] = [];
      for (const dir of left) {
        try {
          await fsAsync.rmdir(dir);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') continue;
          if (code !== 'EBUSY') throw new CgroupError(this.path, `cannot remove ${dir}: ${DroverError.from(e).rawMessage}`, e);
          busy.push(dir);
        }
      }
      // EBUSY: processes are still in it, or still exiting (the kernel counts
      // them until they are fully gone). Kill again and retry.
      if (busy.length === 0) return;
      if (Date.now() > deadline) {
        throw new CgroupError(this.path, `cgroup ${this.path} still has processes after ${DESTROY_TIMEOUT_MS} ms`);
      }
      left = busy;
      await new Promise((r) => setTimeout(r, DESTROY_RETRY_MS));
    }
  }

  /** SIGKILLs every process in the cgroup. */
  private async killAll(): Promise<void> {
    if (this.layout.version === 2) {
      // cgroup.kill (Linux 5.14+) kills atomically, forks in flight included.
      try {
        fs.writeFileSync(path.join(this.dirOf('memory'), 'cgroup.kill'), '1', { flag: 'r+' });
        return;
      } catch {
        // Older kernel (or the cgroup is gone): kill by pid below.
      }
    }
    // By pid: a process forking meanwhile is caught on the next round (destroy
    // loops). A listed pid cannot be reused by another process between the
    // read and the kill unless the whole pid space wraps around in between.
    for (const pid of await this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  private under(mount: string): string {
    return path.join(mount, this.path);
  }
}

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

function readdirIfThere(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function readIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
