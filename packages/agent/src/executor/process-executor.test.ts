import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Isolator, TaskCgroup } from '../isolation/isolation.js';
import { createSandbox, type Sandbox, sandboxFor } from '../sandbox/sandbox.js';
import { eventually } from '../testing/fake-master.js';
import { markerWritten, shellTask, termIgnoringTask } from '../testing/task-specs.js';
import { LaunchError, type TaskHandle } from './executor.js';
import { isProcessAlive } from './proc-stat.js';
import { signalGroup } from './process-group.js';
import { ProcessExecutor } from './process-executor.js';
import { taskLeaders } from './stray-task.js';

let workDir: string;
const executors: ProcessExecutor[] = [];
const groups = new Set<number>();

function executor(isolator?: Isolator): ProcessExecutor {
  const e = new ProcessExecutor({ logger: silentLogger(), pollIntervalMs: 50, killPollIntervalMs: 20, isolator });
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

/** The trimmed content of a file the task writes, once it is there. */
async function fileWritten(file: string): Promise<string> {
  return eventually(async () => (await fs.readFile(file, 'utf8').catch(() => '')).trim() || undefined, file);
}

beforeEach(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-executor-'));
});

afterEach(async () => {
  for (const e of executors.splice(0)) e.close();
  for (const pid of groups) signalGroup(pid, 'SIGKILL');
  groups.clear();
  await fs.rm(workDir, { recursive: true, force: true });
});

/**
 * An isolator whose every task cgroup is joined by writing to `procsFile`,
 * so the join wrapper runs without root: a plain file accepts the pid, a
 * missing one makes the join fail.
 */
function joinOnly(procsFile: string): Isolator {
  const cgroup: TaskCgroup = {
    path: 'fake/task',
    procsFiles: [procsFile],
    pids: () => Promise.resolve([]),
    oomKills: () => Promise.resolve(0),
    cpuUsageNs: () => Promise.resolve(undefined),
    destroy: () => Promise.resolve(),
  };
  return {
    kind: 'cgroups-v2',
    capability: 'isolation:cgroups-v2',
    create: () => Promise.resolve(cgroup),
    limitsOf: (r) => ({ cpus: r?.cpus ?? 0, memMiB: r?.mem ?? 0, pids: 0 }),
    reopen: () => undefined,
    expected: () => undefined,
    taskIds: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}

describe('process executor', () => {
  it('reports a task that could not join its cgroup as never started, and a program exiting 125 by itself as exited', async () => {
    const missing = path.join(workDir, 'no-such-cgroup', 'cgroup.procs');
    const broken = executor(joinOnly(missing));
    const spec = shellTask('echo ran > ran.txt');
    const { sandbox: s } = await launch(broken, spec);
    expect(await broken.wait(spec.taskId)).toEqual({
      kind: 'exited',
      exitCode: 125,
      notStarted: `cannot isolate the task: cannot move the task into ${missing}`,
    });
    expect(await fs.stat(path.join(s.dir, 'ran.txt')).then(() => true, () => false)).toBe(false);

    const joined = executor(joinOnly(path.join(workDir, 'procs')));
    const own = shellTask('echo "cannot reach the database" >&2; exit 125');
    await launch(joined, own);
    expect(await joined.wait(own.taskId)).toEqual({ kind: 'exited', exitCode: 125 });
  });

  it('gives the task its environment and writes its output to sandbox files', async () => {
    const e = executor();
    const spec = shellTask('env; echo to-stderr >&2', {
      env: { FROM_APP: 'yes', PORT0: 'app-must-not-win' },
      ports: [
        { number: 31005, name: 'http', protocol: 'tcp' },
        { number: 31006, name: 'admin-ui', protocol: 'tcp' },
      ],
    });
    const { handle, sandbox: s } = await launch(e, spec);
    expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 0 });
    const lines = (await fs.readFile(s.stdoutPath, 'utf8')).split('\n');
    const env = Object.fromEntries(lines.filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env).toMatchObject({
      DROVER_TASK_ID: spec.taskId,
      DROVER_APP_ID: '/test/app',
      DROVER_APP_VERSION: spec.appVersion,
      DROVER_SANDBOX: s.dir,
      HOST: 'node-1.test',
      PORT: '31005',
      PORT0: '31005',
      PORT1: '31006',
      PORTS: '31005,31006',
      PORT_HTTP: '31005',
      PORT_ADMIN_UI: '31006',
      FROM_APP: 'yes',
    });
    expect(env.PATH).toBe(process.env.PATH);
    expect(env).not.toHaveProperty('VITEST');
    expect(await fs.readFile(s.stderrPath, 'utf8')).toBe('to-stderr\n');
    expect(handle).toMatchObject({ taskId: spec.taskId, executor: 'process' });
    expect(handle.pid).toBeGreaterThan(1);
    expect(handle.details.startTime).toEqual(expect.any(Number));
  });

  it('runs args without a shell', async () => {
    const e = executor();
    const spec = shellTask('', { args: ['/bin/echo', 'a  b', '$HOME'] });
    const { sandbox: s } = await launch(e, spec);
    await e.wait(spec.taskId);
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe('a  b $HOME\n');
  });

  it.each([
    { name: 'exit 0', cmd: 'exit 0', exit: { kind: 'exited', exitCode: 0 } },
    { name: 'exit 3', cmd: 'exit 3', exit: { kind: 'exited', exitCode: 3 } },
    { name: 'an unrequested signal', cmd: 'kill -SEGV $$', exit: { kind: 'signaled', signal: 'SIGSEGV' } },
  ])('reports $name', async ({ cmd, exit }) => {
    const e = executor();
    const spec = shellTask(cmd);
    await launch(e, spec);
    expect(await e.wait(spec.taskId)).toEqual(exit);
  });

  it.each([
    { name: 'missing program', spec: shellTask('', { args: ['/nope/missing'] }), message: 'spawn /nope/missing ENOENT' },
    { name: 'neither cmd nor args', spec: shellTask(''), message: 'the task has neither cmd nor args' },
  ])('fails to launch: $name', async ({ spec, message }) => {
    const e = executor();
    const s = await sandbox(spec);
    const error = await e.launch({ spec, sandbox: s, host: 'h' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).rawMessage).toBe(message);
    await expect(e.wait(spec.taskId)).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('launches once when asked twice at the same time', async () => {
    const e = executor();
    const spec = shellTask('sleep 60');
    const s = await sandbox(spec);
    const [a, b] = await Promise.all([e.launch({ spec, sandbox: s, host: 'h' }), e.launch({ spec, sandbox: s, host: 'h' })]);
    groups.add(a.pid);
    expect(b).toEqual(a);
    expect(await e.launch({ spec, sandbox: s, host: 'h' })).toEqual(a);
  });

  it('kills with SIGTERM, and kills the children in the process group too', async () => {
    const e = executor();
    const spec = shellTask('sleep 60 & echo $! > child.pid; wait');
    const { sandbox: s } = await launch(e, spec);
    const child = Number(await fileWritten(path.join(s.dir, 'child.pid')));
    expect(await isProcessAlive(child, undefined)).toBe(true);
    expect(await e.kill(spec.taskId, 5000)).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
    await eventually(async () => !(await isProcessAlive(child, undefined)), 'the child to die');
  });

  it('SIGKILLs a task that ignores SIGTERM once the grace period is over', async () => {
    const e = executor();
    const spec = termIgnoringTask();
    const { sandbox: s } = await launch(e, spec);
    await markerWritten(s.dir);
    const started = Date.now();
    const exit = await e.kill(spec.taskId, 600);
    const took = Date.now() - started;
    expect(exit).toEqual({ kind: 'signaled', signal: 'SIGKILL' });
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3000);
  });

  it('SIGKILLs what is left of the group when the leader exits', async () => {
    const e = executor();
    const spec = shellTask('(trap "" TERM; sleep 60) & echo $! > child.pid; exit 0');
    const { sandbox: s } = await launch(e, spec);
    expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 0 });
    const child = Number(await fileWritten(path.join(s.dir, 'child.pid')));
    await eventually(async () => !(await isProcessAlive(child, undefined)), 'the leftover child to die');
  });

  it('re-adopts a running task in another executor, and can still kill it', async () => {
    const first = executor();
    const spec = shellTask('sleep 60');
    const { handle } = await launch(first, spec);
    first.close();

    const second = executor();
    expect(await second.recover([handle])).toEqual(new Set([spec.taskId]));
    const started = Date.now();
    expect(await second.kill(spec.taskId, 5000)).toEqual({ kind: 'unknown' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await isProcessAlive(handle.pid, undefined)).toBe(false);
  });

  it('notices when a re-adopted task ends on its own', async () => {
    const first = executor();
    const spec = shellTask('sleep 60');
    const { handle } = await launch(first, spec);
    first.close();
    const second = executor();
    await second.recover([handle]);
    signalGroup(handle.pid, 'SIGKILL');
    expect(await second.wait(spec.taskId)).toEqual({ kind: 'unknown' });
  });

  it.each<{ name: string; details: Record<string, number>; pidOf: () => number }>([
    { name: 'a pid reused by another process', details: { startTime: 1 }, pidOf: () => process.pid },
    { name: 'a pid that does not exist', details: {}, pidOf: () => 2 ** 22 + 1 },
  ])('does not adopt $name', async ({ details, pidOf }) => {
    const e = executor();
    const handle: TaskHandle = { taskId: 't.1', executor: 'process', pid: pidOf(), details };
    expect(await e.recover([handle])).toEqual(new Set());
    expect(await isProcessAlive(process.pid, undefined)).toBe(true);
  });
});

describe('process executor when its spawner dies', () => {
  it('keeps watching the tasks it had started through /proc, and launches through a new spawner', async () => {
    const e = executor();
    const long = shellTask('sleep 60');
    const short = shellTask('sleep 0.3; exit 4');
    const { handle: longHandle } = await launch(e, long);
    const { handle: shortHandle } = await launch(e, short);
    const first = e.spawnerPid as number;
    process.kill(first, 'SIGKILL');

    // The task that ends by itself is noticed, without its exit status: no one is left to reap it for us.
    expect(await e.wait(short.taskId)).toEqual({ kind: 'unknown' });
    expect(await isProcessAlive(shortHandle.pid, undefined)).toBe(false);
    // The other still runs, and is killed as a re-adopted task is.
    expect(await isProcessAlive(longHandle.pid, Number(longHandle.details.startTime))).toBe(true);
    const killed = Date.now();
    expect(await e.kill(long.taskId, 5000)).toEqual({ kind: 'unknown' });
    expect(Date.now() - killed).toBeLessThan(2000);
    expect(await isProcessAlive(longHandle.pid, undefined)).toBe(false);

    const next = shellTask('exit 7');
    await launch(e, next);
    expect(e.spawnerPid).not.toBe(first);
    expect(await e.wait(next.taskId)).toEqual({ kind: 'exited', exitCode: 7 });
  });

  it('loses no task when it dies in the middle of a burst of launches', async () => {
    const e = executor();
    const specs = Array.from({ length: 20 }, () => shellTask('sleep 60'));
    const sandboxes = await Promise.all(specs.map((spec) => sandbox(spec)));
    // A spawner that is up: it answers some of the burst before the kill.
    const warm = shellTask('exit 0');
    await launch(e, warm);
    const spawner = e.spawnerPid as number;
    const launches = specs.map((spec, i) =>
      e.launch({ spec, sandbox: sandboxes[i] as Sandbox, host: 'node-1.test' }).then(
        (handle) => ({ spec, handle }),
        (error: unknown) => ({ spec, error }),
      ),
    );
    // Killed once the first is answered: some requests are answered, some read but not answered, some never read.
    await Promise.race(launches);
    process.kill(spawner, 'SIGKILL');
    const outcomes = await Promise.all(launches);
    expect(outcomes.some((o) => 'handle' in o)).toBe(true);
    for (const outcome of outcomes) {
      if ('handle' in outcome) {
        groups.add(outcome.handle.pid);
        // Launched: watched, and killable.
        expect(await e.kill(outcome.spec.taskId, 0)).toEqual(expect.objectContaining({ kind: expect.any(String) }));
        expect(await isProcessAlive(outcome.handle.pid, undefined)).toBe(false);
      } else {
        // Not launched: nothing of it runs.
        expect(outcome.error).toBeInstanceOf(LaunchError);
        expect(await taskLeaders(outcome.spec.taskId)).toEqual([]);
      }
    }
  });
});
