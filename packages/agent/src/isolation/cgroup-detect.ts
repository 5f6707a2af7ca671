/**
 * Finds out, once at agent start, which cgroups the agent can use, and
 * creates its parent cgroup there. In order of preference:
 *
 * 1. cgroup v2: a unified hierarchy (at the root, or at `unified/` on a
 *    hybrid machine) that offers the memory, cpu and pids controllers. They
 *    are enabled in `cgroup.subtree_control` on the way down to the agent's
 *    parent, so task cgroups under it get them. On a hybrid machine the
 *    unified tree usually offers no controllers (v1 holds them all): skipped.
 * 2. cgroup v1: memory, cpu and pids hierarchies mounted (cpuacct too, if
 *    there, for CPU usage), each with the agent's parent created in it.
 * 3. none: the agent is not root, the mounts are read-only, or controllers
 *    are missing. Tasks run unlimited; the one warning says why.
 *
 * Detection is by looking at directories, not at /proc/self/mountinfo, so a
 * test can point it at a fake tree. Nothing outside `<root>/<parent>` is
 * created, and a hierarchy's existing subtree_control is only ever added to.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DroverError, type Logger } from '@drover/common';
import { CgroupIsolator, type CgroupLayout } from './cgroup-isolator.js';
import type { Controller } from './cgroup-limits.js';
import { DEFAULT_PIDS_LIMIT, type Isolator, NoIsolation } from './isolation.js';

/** Where cgroup hierarchies are mounted on most Linux machines. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** The controllers every task cgroup needs. */
const NEEDED: readonly Controller[] = ['memory', 'cpu', 'pids'];

/** How to detect. */
export interface DetectOptions {
  /** Where the hierarchies are mounted; default /sys/fs/cgroup. */
  readonly root?: string;
  /** The agent's parent cgroup relative to each hierarchy root (see agentCgroupParent). */
  readonly parent: string;
  /** Process cap of each task; default DEFAULT_PIDS_LIMIT. */
  readonly pidsLimit?: number;
  /** Logger (a child named "cgroups" is taken). */
  readonly logger: Logger;
}

/**
 * The agent's parent cgroup: `drover/` and a hash of its work dir. The work
 * dir is what makes an agent itself (its id lives there), is known before
 * the first registration, and differs between agents sharing a machine.
 */
export function agentCgroupParent(workDir: string): string {
  const hash = createHash('sha256').update(path.resolve(workDir)).digest('hex').slice(0, 12);
  return `drover/${hash}`;
}

/** The isolation this agent can have; logs what it found (a warning when none). */
export async function detectIsolation(options: DetectOptions): Promise<Isolator> {
  const log = options.logger.child({ component: 'cgroups' });
  const root = options.root ?? DEFAULT_CGROUP_ROOT;
  const pidsLimit = options.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  const reasons: string[] = [];

  for (const dir of [root, path.join(root, 'unified')]) {
    const found = await unifiedLayout(dir, options.parent);
    if (found === undefined) continue;
    if (typeof found === 'string') {
      reasons.push(`cgroup v2 at ${dir}: ${found}`);
      continue;
    }
    log.info({ root: dir, parent: options.parent, swapAccounting: found.features.swapAccounting, pidsLimit }, 'task isolation: cgroups v2');
    return new CgroupIsolator(found, options.logger, pidsLimit);
  }

  const v1 = await legacyLayout(root, options.parent);
  if (typeof v1 !== 'string') {
    log.info({ mounts: v1.mounts, parent: options.parent, swapAccounting: v1.features.swapAccounting, pidsLimit }, 'task isolation: cgroups v1');
    return new CgroupIsolator(v1, options.logger, pidsLimit);
  }
  reasons.push(`cgroup v1 at ${root}: ${v1}`);

  log.warn(
    { reasons, uid: process.getuid?.() },
    'no usable cgroups: task CPU, memory and process limits are NOT enforced (run the agent as root on a machine with cgroups)',
  );
  return new NoIsolation(pidsLimit);
}

/**
 * The v2 layout at `dir`, with the agent's parent created and the needed
 * controllers enabled down to it; undefined when `dir` is no v2 hierarchy,
 * a string saying why when it is one but cannot be used.
 */
async function unifiedLayout(dir: string, parent: string): Promise<CgroupLayout | string | undefined> {
  const offered = await readWords(path.join(dir, 'cgroup.controllers'));
  if (offered === undefined) return undefined;
  const missing = NEEDED.filter((c) => !offered.includes(c));
  if (missing.length > 0) return `controllers ${missing.join(', ')} not offered (held by cgroup v1?)`;

  // A controller is usable in a cgroup only when every ancestor enables it
  // for its children; the agent's parent must enable it for the task cgroups.
  let current = dir;
  for (const segment of ['', ...parent.split('/')]) {
    if (segment !== '') {
      current = path.join(current, segment);
      try {
        await fs.mkdir(current);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return `cannot create ${current}: ${reason(e)}`;
      }
    }
    const enabled = (await readWords(path.join(current, 'cgroup.subtree_control'))) ?? [];
    const toEnable = NEEDED.filter((c) => !enabled.includes(c));
    if (toEnable.length === 0) continue;
    try {
      await fs.writeFile(path.join(current, 'cgroup.subtree_control'), toEnable.map((c) => `+${c}`).join(' '));
    } catch (e) {
      // EBUSY: `current` has processes of its own, and v2 allows controllers
      // for children only in cgroups without (the root excepted).
      return `cannot enable ${toEnable.join(', ')} in ${current}: ${reason(e)}`;
    }
  }
  return {
    version: 2,
    mounts: { memory: dir, cpu: dir, pids: dir },
    parent,
    features: { swapAccounting: await exists(path.join(current, 'memory.swap.max')) },
  };
}

/** The v1 layout under `root` with the agent's parent created, or a string saying why there is none. */
async function legacyLayout(root: string, parent: string): Promise<CgroupLayout | string> {
  // A file each controller's cgroups have, proving the hierarchy holds it.
  const knob: Record<Controller | 'cpuacct', string> = {
    memory: 'memory.limit_in_bytes',
    cpu: 'cpu.cfs_quota_us',
    pids: 'pids.max',
    cpuacct: 'cpuacct.usage',
  };
  const mounts: Partial<Record<Controller | 'cpuacct', string>> = {};
  for (const controller of [...NEEDED, 'cpuacct'] as const) {
    const mount = await realDir(path.join(root, controller));
    // v1 hierarchies have a `tasks` file; a v2 tree (or a plain directory) has not.
    if (mount === undefined || !(await exists(path.join(mount, 'tasks')))) {
      if (controller === 'cpuacct') continue;
      return `no ${controller} hierarchy mounted at ${path.join(root, controller)}`;
    }
    const dir = path.join(mount, parent);
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (e) {
      return `cannot create ${dir}: ${reason(e)}`;
    }
    if (!(await exists(path.join(dir, knob[controller])))) {
      if (controller === 'cpuacct') continue;
      return `${mount} does not hold the ${controller} controller`;
    }
    mounts[controller] = mount;
  }
  const { memory, cpu, pids, cpuacct } = mounts;
  if (memory === undefined || cpu === undefined || pids === undefined) return 'controllers missing';
  return {
    version: 1,
    mounts: cpuacct === undefined ? { memory, cpu, pids } : { memory, cpu, pids, cpuacct },
    parent,
    features: { swapAccounting: await exists(path.join(memory, parent, 'memory.memsw.limit_in_bytes')) },
  };
}

async function readWords(file: string): Promise<string[] | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).split(/\s+/).filter((w) => w !== '');
  } catch {
    return undefined;
  }
}

/** `dir` with symlinks resolved (cpu and cpuacct are often links to "cpu,cpuacct"); undefined if absent. */
async function realDir(dir: string): Promise<string | undefined> {
  try {
    const real = await fs.realpath(dir);
    return (await fs.stat(real)).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

function reason(e: unknown): string {
  return DroverError.from(e).rawMessage;
}
