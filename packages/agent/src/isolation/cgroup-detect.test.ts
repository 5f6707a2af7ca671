import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../testing/capture-logger.js';
import { describeWithCgroups } from '../testing/root-only.js';
import { agentCgroupParent, DEFAULT_CGROUP_ROOT, detectIsolation } from './cgroup-detect.js';
import { CgroupIsolator, parentDirs } from './cgroup-isolator.js';

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-cgroups-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const read = (file: string) => fs.readFile(path.join(tmp, file), 'utf8');

/**
 * What the kernel offers, read from /proc/self/mountinfo rather than by
 * probing directories as detection does: a cgroup2 mount whose
 * cgroup.controllers lists memory, cpu and pids means v2, else v1.
 */
async function kernelCgroupKind(): Promise<'cgroups-v1' | 'cgroups-v2'> {
  const mounts = (await fs.readFile('/proc/self/mountinfo', 'utf8')).split('\n');
  for (const line of mounts) {
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] !== 'cgroup2') continue;
    const mountPoint = before?.split(' ')[4] ?? '';
    if (!mountPoint.startsWith(DEFAULT_CGROUP_ROOT)) continue;
    const offered = await fs.readFile(path.join(mountPoint, 'cgroup.controllers'), 'utf8').catch(() => '');
    if (['memory', 'cpu', 'pids'].every((c) => offered.split(/\s+/).includes(c))) return 'cgroups-v2';
  }
  return 'cgroups-v1';
}

/** A fake unified hierarchy: the files detection reads, as a kernel would show them. */
async function fakeUnified(dir: string, controllers: string, subtree = ''): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'cgroup.controllers'), `${controllers}\n`);
  await fs.writeFile(path.join(dir, 'cgroup.subtree_control'), subtree === '' ? '' : `${subtree}\n`);
}

describe('agent parent cgroup', () => {
  it('differs between work dirs and is stable for one', () => {
    expect(agentCgroupParent('/var/lib/drover')).toMatch(/^drover\/[0-9a-f]{12}$/);
    expect(agentCgroupParent('/var/lib/drover')).toBe(agentCgroupParent('/var/lib/drover/'));
    expect(agentCgroupParent('/var/lib/drover')).not.toBe(agentCgroupParent('/var/lib/drover-2'));
  });
});

describe('cgroup v2 detection (fake tree)', () => {
  it('enables the missing controllers on the way down to the agent parent and writes task limits there', async () => {
    // systemd typically enables cpu and memory at the root, not pids.
    await fakeUnified(tmp, 'cpuset cpu io memory hugetlb pids rdma misc', 'cpu memory');
    const { logger, entries } = captureLogger();
    const isolator = await detectIsolation({ root: tmp, parent: 'drover/agent1', pidsLimit: 100, logger });

    expect(isolator.kind).toBe('cgroups-v2');
    expect(isolator.capability).toBe('isolation:cgroups-v2');
    expect(await read('cgroup.subtree_control')).toBe('+pids');
    expect(await read('drover/cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(await read('drover/agent1/cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(entries.filter((e) => e.level === 'warn')).toEqual([]);

    const cgroup = await isolator.create('web.1', isolator.limitsOf({ cpus: 0.25, mem: 64 }));
    expect(cgroup?.path).toBe('drover/agent1/web.1');
    expect(cgroup?.procsFiles).toEqual([path.join(tmp, 'drover/agent1/web.1/cgroup.procs')]);
    const files = Object.fromEntries(
      await Promise.all(
        (await fs.readdir(path.join(tmp, 'drover/agent1/web.1'))).map(async (f) => [f, await read(`drover/agent1/web.1/${f}`)]),
      ),
    );
    // No memory.swap.max in the parent: this kernel does not account swap.
    expect(files).toEqual({
      'memory.max': '67108864',
      'memory.oom.group': '1',
      'cpu.max': '25000 100000',
      'cpu.weight': '25',
      'pids.max': '100',
    });
  });

  it('reads OOM kills and CPU usage from memory.events and cpu.stat', async () => {
    await fakeUnified(tmp, 'cpu memory pids');
    const isolator = await detectIsolation({ root: tmp, parent: 'drover/a', logger: captureLogger().logger });
    const cgroup = await isolator.create('web.1', isolator.limitsOf(undefined));
    await fs.writeFile(path.join(tmp, 'drover/a/web.1/memory.events'), 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 1\n');
    await fs.writeFile(path.join(tmp, 'drover/a/web.1/cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n');
    expect(await cgroup?.oomKills()).toBe(2);
    expect(await cgroup?.cpuUsageNs()).toBe(1_500_000);
    expect(await read('drover/a/web.1/pids.max')).toBe('4096');
  });

  it('forbids swap when the kernel accounts it', async () => {
    await fakeUnified(tmp, 'cpu memory pids', 'cpu memory pids');
    await fs.mkdir(path.join(tmp, 'drover/a'), { recursive: true });
    await fs.writeFile(path.join(tmp, 'drover/a/memory.swap.max'), 'max\n');
    const isolator = await detectIsolation({ root: tmp, parent: 'drover/a', logger: captureLogger().logger });
    await isolator.create('web.1', isolator.limitsOf({ cpus: 1, mem: 128 }));
    expect(await read('drover/a/web.1/memory.swap.max')).toBe('0');
    expect(await read('drover/a/web.1/memory.max')).toBe(String(128 * 1024 * 1024));
  });

  it('only hands out cgroups of safe task ids, and only reopens the path it would give the task', async () => {
    await fakeUnified(tmp, 'cpu memory pids');
    const isolator = await detectIsolation({ root: tmp, parent: 'drover/a', logger: captureLogger().logger });
    await expect(isolator.create('../escape', isolator.limitsOf(undefined))).rejects.toMatchObject({ name: 'CgroupError' });
    expect(isolator.reopen('web.1', 'drover/a/web.1')?.path).toBe('drover/a/web.1');
    for (const forged of ['docker/0123abcd', 'drover/b/web.1', 'drover/a/web.2', 'drover/a/../../docker']) {
      expect(isolator.reopen('web.1', forged)).toBeUndefined();
    }
  });

  it.each([
    {
      name: 'a hybrid machine whose unified tree has no controllers',
      setup: () => fakeUnified(path.join(tmp, 'unified'), ''),
      reason: 'not offered',
    },
    {
      name: 'a unified tree without the pids controller',
      setup: () => fakeUnified(tmp, 'cpu memory io'),
      reason: 'controllers pids not offered',
    },
    { name: 'nothing mounted at all', setup: async () => undefined, reason: 'no memory hierarchy mounted' },
  ])('falls back to none on $name, warning once', async ({ setup, reason }) => {
    await setup();
    const { logger, entries } = captureLogger();
    const isolator = await detectIsolation({ root: tmp, parent: 'drover/a', logger });
    expect(isolator.kind).toBe('none');
    expect(isolator.capability).toBe('isolation:none');
    expect(await isolator.create('web.1', isolator.limitsOf({ cpus: 1, mem: 64 }))).toBeUndefined();
    const warnings = entries.filter((e) => e.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain('NOT enforced');
    expect(JSON.stringify(warnings[0]?.fields.reasons)).toContain(reason);
  });

  it('falls back to none when the hierarchy root cannot hold directories', async () => {
    const file = path.join(tmp, 'not-a-dir');
    await fs.writeFile(file, '');
    const isolator = await detectIsolation({ root: file, parent: 'drover/a', logger: captureLogger().logger });
    expect(isolator.kind).toBe('none');
  });
});

describeWithCgroups('cgroup detection on this machine', () => {
  it('finds the cgroups this kernel mounts, creates the agent parent in each hierarchy, and removes it on close', async () => {
    const parent = `drover/test-detect-${process.pid}`;
    const { logger, entries } = captureLogger();
    const isolator = await detectIsolation({ parent, logger });
    // Either side: a v2 tree offering the controllers wins (pure v2, or a
    // hybrid machine whose unified tree holds them), else the v1 hierarchies
    // (this project's CI machines: v1 controllers plus an empty unified tree).
    expect(isolator.kind).toBe(await kernelCgroupKind());
    expect(isolator).toBeInstanceOf(CgroupIsolator);
    const layout = (isolator as CgroupIsolator).layout;
    if (layout.version === 1) {
      // Links resolved: cpu is often a link to "cpu,cpuacct" (systemd's v1 layout); here it is its own mount.
      const real = (c: string) => fs.realpath(path.join(DEFAULT_CGROUP_ROOT, c));
      expect(layout.mounts).toMatchObject({ memory: await real('memory'), cpu: await real('cpu'), pids: await real('pids') });
    }
    for (const dir of parentDirs(layout)) expect((await fs.stat(dir)).isDirectory()).toBe(true);
    expect(entries.find((e) => e.level === 'info')?.msg).toBe(`task isolation: ${isolator.kind.replace('-', ' ')}`);

    await isolator.close();
    for (const dir of parentDirs(layout)) await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
