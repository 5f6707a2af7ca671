/**
 * The process executor with real cgroups and users: limits are enforced,
 * OOM kills are recognised, cgroups go when their task does, re-adopted
 * tasks keep theirs, and tasks run as the user their spec names.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { Resources, type TaskSpec } from '@drover/proto';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { detectIsolation } from '../isolation/cgroup-detect.js';
import { CgroupIsolator } from '../isolation/cgroup-isolator.js';
import { type Isolator, NoIsolation } from '../isolation/isolation.js';
import { wrappedCommand } from '../isolation/join-wrapper.js';
import { CHECKPOINT_FILE, createSandbox, type Sandbox, sandboxFor } from '../sandbox/sandbox.js';
import { eventually } from '../testing/fake-master.js';
import { sweepCgroups } from '../testing/cgroup-sweep.js';
import { describeWithCgroups } from '../testing/root-only.js';
import { shellTask } from '../testing/task-specs.js';
import { LaunchError, type TaskHandle } from './executor.js';
import { isProcessAlive } from './proc-stat.js';
import { signalGroup } from './process-group.js';
import { ProcessExecutor } from './process-executor.js';

/** Allocates and touches 1 MiB at a time, forever (200 MiB is far past any limit here). */
const HOG = [process.execPath, '-e', 'const a = []; for (let i = 0; i < 200; i++) a.push(Buffer.alloc(1 << 20, 1)); setInterval(() => {}, 1000);'];

describeWithCgroups('process executor with cgroups', () => {
  let workDir: string;
  let isolator: CgroupIsolator;
  let small: CgroupIsolator;
  const executors: ProcessExecutor[] = [];
  const groups = new Set<number>();
  const parent = `drover/test-executor-${process.pid}`;

  function executor(iso: Isolator = isolator, extra: Partial<ConstructorParameters<typeof ProcessExecutor>[0]> = {}): ProcessExecutor {
    const e = new ProcessExecutor({ logger: silentLogger(), pollIntervalMs: 50, killPollIntervalMs: 20, isolator: iso, ...extra });
    executors.push(e);
    return e;
  }

  async function sandbox(spec: TaskSpec): Promise<Sandbox> {
    const s = sandboxFor(path.join(workDir, 'tasks'), spec.taskId);
    await createSandbox(s);
    return s;
  }

  async function launch(e: ProcessExecutor, spec: TaskSpec): Promise<{ handle: TaskHandle; sandbox: Sandbox }> {
    const s = await sandbox(spec);
    const handle = await e.launch({ spec, sandbox: s, host: 'node-1.test' });
    groups.add(handle.pid);
    return { handle, sandbox: s };
  }

  /** The task cgroup's directory in the hierarchy of `controller`. */
  function dirOf(iso: CgroupIsolator, controller: 'memory' | 'cpu' | 'pids', handle: TaskHandle): string {
    return path.join(iso.layout.mounts[controller], String(handle.details.cgroup));
  }

  async function gone(iso: CgroupIsolator, handle: TaskHandle): Promise<boolean> {
    for (const c of ['memory', 'cpu', 'pids'] as const) {
      if (await fs.stat(dirOf(iso, c, handle)).then(() => true, () => false)) return false;
    }
    return true;
  }

  beforeAll(async () => {
    isolator = (await detectIsolation({ parent, logger: silentLogger() })) as CgroupIsolator;
    small = (await detectIsolation({ parent: `${parent}-small`, pidsLimit: 16, logger: silentLogger() })) as CgroupIsolator;
    expect(isolator).toBeInstanceOf(CgroupIsolator);
  });

  afterAll(async () => {
    await isolator.close();
    await small.close();
  });

  beforeEach(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-isolation-'));
  });

  afterEach(async () => {
    for (const e of executors.splice(0)) e.close();
    for (const pid of groups) signalGroup(pid, 'SIGKILL');
    groups.clear();
    // Tasks killed here, behind the closed executors' backs, leave their cgroups.
    await sweepCgroups(parent);
    await sweepCgroups(`${parent}-small`);
    await fs.rm(workDir, { recursive: true, force: true });
  });

  it('puts the task in its cgroup from the start, with its limits, and removes the cgroup when it ends', async () => {
    const e = executor();
    const spec = shellTask('cat /proc/self/cgroup > cgroup.txt; sleep 60', { resources: Resources.fromPartial({ cpus: 0.5, mem: 64 }) });
    const { handle, sandbox: s } = await launch(e, spec);
    expect(handle.details.cgroup).toBe(`${parent}/${spec.taskId}`);
    const read = (c: 'memory' | 'cpu', file: string) => fs.readFile(path.join(dirOf(isolator, c, handle), file), 'utf8');
    if (isolator.layout.version === 1) {
      expect((await read('memory', 'memory.limit_in_bytes')).trim()).toBe(String(64 * 1024 * 1024));
      expect((await read('cpu', 'cpu.cfs_quota_us')).trim()).toBe('50000');
    } else {
      expect((await read('memory', 'memory.max')).trim()).toBe(String(64 * 1024 * 1024));
      expect((await read('cpu', 'cpu.max')).trim()).toBe('50000 100000');
    }
    // `cat` is a child of the shell: it inherited the cgroup.
    const text = await eventually(async () => (await fs.readFile(path.join(s.dir, 'cgroup.txt'), 'utf8').catch(() => '')) || undefined, 'cgroup.txt');
    expect(await e.kill(spec.taskId, 1000)).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
    const lines = text.split('\n');
    for (const c of isolator.layout.version === 1 ? ['memory', 'cpu', 'pids'] : ['']) {
      expect(lines.some((l) => l.split(':')[1]?.split(',').includes(c) && l.endsWith(`:/${handle.details.cgroup}`))).toBe(true);
    }
    expect(await gone(isolator, handle)).toBe(true);
  });

  it('reports a task killed for going over its memory limit as an OOM kill', async () => {
    const e = executor();
    const spec = shellTask('', { args: HOG, resources: Resources.fromPartial({ cpus: 1, mem: 64 }) });
    const { handle } = await launch(e, spec);
    expect(await e.wait(spec.taskId)).toEqual({ kind: 'signaled', signal: 'SIGKILL', oom: true });
    expect(await gone(isolator, handle)).toBe(true);
  });

  it('does not call a kill an OOM kill when the memory limit was never reached', async () => {
    const e = executor();
    const spec = shellTask('sleep 60', { resources: Resources.fromPartial({ mem: 64 }) });
    await launch(e, spec);
    expect(await e.kill(spec.taskId, 5000)).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
  });

  it('caps a busy loop at its cpus share, measured by the cgroup’s own CPU accounting', async () => {
    const e = executor();
    const spec = shellTask('while :; do :; done', { resources: Resources.fromPartial({ cpus: 0.2, mem: 64 }) });
    const { handle } = await launch(e, spec);
    const cgroup = isolator.reopen(spec.taskId, String(handle.details.cgroup));
    if (cgroup === undefined) throw new Error('no cgroup');
    await new Promise((r) => setTimeout(r, 300));
    const [t0, u0] = [process.hrtime.bigint(), (await cgroup.cpuUsageNs()) ?? 0];
    await new Promise((r) => setTimeout(r, 2000));
    const [t1, u1] = [process.hrtime.bigint(), (await cgroup.cpuUsageNs()) ?? 0];
    const share = (u1 - u0) / Number(t1 - t0);
    console.log(`busy loop under cpus 0.2 used ${(share * 100).toFixed(1)}% of one core`);
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.3);
    await e.kill(spec.taskId, 0);
    expect(await gone(isolator, handle)).toBe(true);
  });

  it('caps the number of processes', async () => {
    const e = executor(small);
    // Single-threaded and survives refused forks (a shell would exit on the first), so the cgroup can be read after.
    const forker = [
      'import subprocess, time',
      'ok = failed = 0',
      'for i in range(40):',
      '    try:',
      "        subprocess.Popen(['sleep', '30']); ok += 1",
      '    except OSError:',
      '        failed += 1',
      "open('forks.txt', 'w').write(f'{ok} {failed}')",
      'time.sleep(60)',
    ].join('\n');
    const spec = shellTask('', { args: ['/usr/bin/python3', '-c', forker] });
    const { handle, sandbox: s } = await launch(e, spec);
    const pidsDir = dirOf(small, 'pids', handle);
    const [ok, failed] = (
      await eventually(async () => (await fs.readFile(path.join(s.dir, 'forks.txt'), 'utf8').catch(() => '')) || undefined, 'forks.txt', 15_000)
    )
      .split(' ')
      .map(Number);
    expect(failed).toBeGreaterThan(0);
    expect((ok ?? 0) + 1).toBeLessThanOrEqual(16);
    expect((await fs.readFile(path.join(pidsDir, 'pids.max'), 'utf8')).trim()).toBe('16');
    expect(Number((await fs.readFile(path.join(pidsDir, 'pids.current'), 'utf8')).trim())).toBeLessThanOrEqual(16);
    // pids.events counts the forks the limit refused (Python may try more than one per Popen).
    expect(Number(/^max (\d+)$/m.exec(await fs.readFile(path.join(pidsDir, 'pids.events'), 'utf8'))?.[1])).toBeGreaterThanOrEqual(failed ?? 1);
    await e.kill(spec.taskId, 0);
    expect(await gone(small, handle)).toBe(true);
  });

  it('gives every task the default pids limit of 4096', async () => {
    const e = executor();
    const spec = shellTask('sleep 60');
    const { handle } = await launch(e, spec);
    expect((await fs.readFile(path.join(dirOf(isolator, 'pids', handle), 'pids.max'), 'utf8')).trim()).toBe('4096');
    await e.kill(spec.taskId, 0);
    expect(await gone(isolator, handle)).toBe(true);
  });

  it('kills what left the process group (setsid) through the cgroup when the task ends', async () => {
    const e = executor();
    const spec = shellTask('setsid sleep 60 & echo $! > escaped.pid; sleep 0.2; exit 0');
    const { handle, sandbox: s } = await launch(e, spec);
    const escaped = Number(await eventually(async () => (await fs.readFile(path.join(s.dir, 'escaped.pid'), 'utf8').catch(() => '')).trim() || undefined, 'escaped.pid'));
    expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 0 });
    expect(await isProcessAlive(escaped, undefined)).toBe(false);
    expect(await gone(isolator, handle)).toBe(true);
  });

  it('re-adopts a task that stays in its cgroup, and removes the cgroup when the re-adopted task is killed', async () => {
    const first = executor();
    const spec = shellTask('sleep 60', { resources: Resources.fromPartial({ mem: 64 }) });
    const { handle } = await launch(first, spec);
    first.close();

    const second = executor();
    expect(await second.recover([handle])).toEqual(new Set([spec.taskId]));
    // Launch does not wait for the wrapper's join (the program cannot start before it); it follows at once.
    await eventually(async () => (await fs.readFile(`/proc/${handle.pid}/cgroup`, 'utf8')).includes(`:/${handle.details.cgroup}\n`), 'the task in its cgroup');
    expect(await gone(isolator, handle)).toBe(false);
    expect(await second.kill(spec.taskId, 5000)).toEqual({ kind: 'unknown' });
    expect(await gone(isolator, handle)).toBe(true);
  });

  it('removes the cgroup of a task found dead on recovery', async () => {
    const first = executor();
    const spec = shellTask('sleep 60');
    const { handle } = await launch(first, spec);
    first.close();
    signalGroup(handle.pid, 'SIGKILL');
    await eventually(async () => !(await isProcessAlive(handle.pid, undefined)), 'the task to die');
    const second = executor();
    expect(await second.recover([handle])).toEqual(new Set());
    expect(await gone(isolator, handle)).toBe(true);
  });

  it('kills and removes, on recovery, a task cgroup that no checkpoint knows', async () => {
    const ghost = await isolator.create('ghost.1', isolator.limitsOf(undefined));
    const [program, ...args] = wrappedCommand(ghost!.procsFiles, undefined, 'sleep', ['60']);
    const child = spawn(program, args, { detached: true, stdio: 'ignore' });
    const pid = child.pid ?? 0;
    groups.add(pid);
    await eventually(async () => (await ghost!.pids()).includes(pid), 'the orphan in its cgroup');

    const e = executor();
    expect(await e.recover([])).toEqual(new Set());
    await eventually(async () => !(await isProcessAlive(pid, undefined)), 'the orphan to be killed');
    expect(await isolator.taskIds()).not.toContain('ghost.1');
  });

  it('fails the launch of a missing program as before, leaving no cgroup', async () => {
    const e = executor();
    const spec = shellTask('', { args: ['/nope/missing'] });
    const s = await sandbox(spec);
    await expect(e.launch({ spec, sandbox: s, host: 'h' })).rejects.toMatchObject({ name: 'LaunchError', rawMessage: 'spawn /nope/missing ENOENT' });
    expect(await fs.readdir(path.join(isolator.layout.mounts.memory, parent)).then((l) => l.filter((n) => n === spec.taskId))).toEqual([]);
  });

  it.each([
    { name: 'in its cgroup', cgroups: true },
    { name: 'without cgroups', cgroups: false },
  ])('runs a task as its user, in a sandbox handed to that user ($name)', async ({ cgroups }) => {
    const e = executor(cgroups ? isolator : new NoIsolation());
    const spec = shellTask('id; touch made-by-task', { user: 'nobody', resources: Resources.fromPartial({ mem: 64 }) });
    const s = await sandbox(spec);
    await fs.writeFile(s.checkpointPath, '{}');
    const handle = await e.launch({ spec, sandbox: s, host: 'h' });
    expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 0 });
    expect(handle.details.user).toBe('nobody');
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toMatch(/^uid=65534\(nobody\) gid=65534\(/);
    for (const p of [s.dir, s.stdoutPath, s.stderrPath, path.join(s.dir, 'made-by-task')]) expect((await fs.stat(p)).uid).toBe(65534);
    expect((await fs.stat(path.join(s.dir, CHECKPOINT_FILE))).uid).toBe(0);
  });

  it.each([
    { name: 'an unknown user', user: 'no-such-user-drover', identity: undefined, message: 'user "no-such-user-drover" does not exist on this agent' },
    { name: 'another user when the agent is not root', user: 'nobody', identity: { uid: 4242, name: 'alice' }, message: 'the agent runs as alice (not root), so it cannot run a task as nobody' },
  ])('refuses to launch as $name', async ({ user, identity, message }) => {
    const e = executor(isolator, identity === undefined ? {} : { identity });
    const spec = shellTask('touch ran', { user });
    const s = await sandbox(spec);
    const error = await e.launch({ spec, sandbox: s, host: 'h' }).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).rawMessage).toBe(message);
    await expect(fs.access(path.join(s.dir, 'ran'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
