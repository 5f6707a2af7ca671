/**
 * Removes the cgroups agents on a work dir left behind. Tests kill task
 * processes behind the agent's back and never start the agent again (which
 * would clean up on recovery), so without this every such test would leave
 * empty cgroups on the machine. Not exported from the package index.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { agentCgroupParent, DEFAULT_CGROUP_ROOT } from '../isolation/cgroup-detect.js';

/** Kills what is left in the task cgroups of the agent on `workDir` and removes them and its parent. */
export async function sweepAgentCgroups(workDir: string, root = DEFAULT_CGROUP_ROOT): Promise<void> {
  await sweepCgroups(agentCgroupParent(workDir), root);
}

/** The same for any parent cgroup (relative to each hierarchy root), for tests that pick their own. */
export async function sweepCgroups(parent: string, root = DEFAULT_CGROUP_ROOT): Promise<void> {
  const hierarchies = await fs.readdir(root).catch(() => [] as string[]);
  const parents = [path.join(root, parent), ...hierarchies.map((h) => path.join(root, h, parent))];
  for (const dir of parents) {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) await removeCgroup(path.join(dir, entry.name));
    await fs.rmdir(dir).catch(() => undefined);
  }
}

async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const procs = await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const pid of procs.split('\n').filter((l) => l !== '')) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    try {
      await fs.rmdir(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY') return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
