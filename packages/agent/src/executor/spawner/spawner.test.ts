import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../testing/fake-master.js';
import { isProcessAlive, readProcStat } from '../proc-stat.js';
import { signalGroup } from '../process-group.js';
import { type SpawnRequest, SpawnerDiedError, Spawner, SpawnFailedError } from './spawner.js';

let dir: string;
const spawners: Spawner[] = [];
const groups = new Set<number>();

function spawner(): Spawner {
  const s = new Spawner(silentLogger());
  spawners.push(s);
  return s;
}

function request(argv: [string, ...string[]], extra: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    argv,
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hello' },
    stdoutPath: path.join(dir, 'stdout'),
    stderrPath: path.join(dir, 'stderr'),
    ...extra,
  };
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-spawner-'));
});

afterEach(async () => {
  for (const s of spawners.splice(0)) s.close();
  for (const pid of groups) signalGroup(pid, 'SIGKILL');
  groups.clear();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('spawner', () => {
  it('starts a process in its own session with the given environment, cwd and output files, and reports its exit', async () => {
    const s = spawner();
    const spawned = await s.spawn(request(['/bin/sh', '-c', 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 3']));
    groups.add(spawned.pid);
    expect(await spawned.exit).toEqual({ kind: 'exited', exitCode: 3 });
    expect(await fs.readFile(path.join(dir, 'stdout'), 'utf8')).toBe(`hello from ${await fs.realpath(dir)}\n`);
    expect(await fs.readFile(path.join(dir, 'stderr'), 'utf8')).toBe('oops\n');
  });

  it('gives the pid and start time of a group leader before it can be reaped', async () => {
    const s = spawner();
    const spawned = await s.spawn(request(['sleep', '60']));
    groups.add(spawned.pid);
    const stat = await readProcStat(spawned.pid);
    expect(stat?.pgrp).toBe(spawned.pid);
    expect(stat?.startTime).toBe(spawned.startTime);
    signalGroup(spawned.pid, 'SIGTERM');
    expect(await spawned.exit).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
  });

  it('appends to existing output files', async () => {
    const s = spawner();
    await fs.writeFile(path.join(dir, 'stdout'), 'before\n');
    const spawned = await s.spawn(request(['/bin/echo', 'after']));
    await spawned.exit;
    expect(await fs.readFile(path.join(dir, 'stdout'), 'utf8')).toBe('before\nafter\n');
  });

  it.each<{ name: string; req: () => SpawnRequest; stage: 'open' | 'spawn'; message: RegExp }>([
    { name: 'a missing program', req: () => request(['/nope/missing']), stage: 'spawn', message: /^spawn \/nope\/missing ENOENT$/ },
    { name: 'a program that is not executable', req: () => request([path.join(dir)]), stage: 'spawn', message: /EACCES/ },
    {
      name: 'an output file that cannot be opened',
      req: () => request(['/bin/true'], { stdoutPath: path.join(dir, 'missing-dir', 'stdout') }),
      stage: 'open',
      message: /^cannot open .*missing-dir\/stdout: ENOENT/,
    },
  ])('fails without starting anything for $name', async ({ req, stage, message }) => {
    const s = spawner();
    const failure = await s.spawn(req()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SpawnFailedError);
    expect(failure).toMatchObject({ stage });
    expect((failure as SpawnFailedError).rawMessage).toMatch(message);
    // Still serving afterwards.
    expect(await (await s.spawn(request(['/bin/true']))).exit).toEqual({ kind: 'exited', exitCode: 0 });
  });

  it('serves many spawns at once, each with its own answer', async () => {
    const s = spawner();
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => s.spawn(request(['/bin/sh', '-c', `exit ${i % 7}`]))));
    expect(new Set(all.map((a) => a.pid)).size).toBe(50);
    expect(await Promise.all(all.map((a) => a.exit))).toEqual(Array.from({ length: 50 }, (_, i) => ({ kind: 'exited', exitCode: i % 7 })));
  });

  it('when killed, leaves its tasks running, reports them orphaned and starts anew with the next spawn', async () => {
    const s = spawner();
    const running = await s.spawn(request(['sleep', '60']));
    groups.add(running.pid);
    const first = s.pid as number;
    process.kill(first, 'SIGKILL');
    expect(await running.exit).toEqual({ kind: 'orphaned' });
    expect(await isProcessAlive(running.pid, running.startTime)).toBe(true);
    const next = await s.spawn(request(['/bin/true']));
    expect(s.pid).not.toBe(first);
    expect(await next.exit).toEqual({ kind: 'exited', exitCode: 0 });
  });

  it('fails the requests it had not answered when it dies', async () => {
    const s = spawner();
    // Stopped, it reads nothing: the request waits until the kill.
    const pid = s.pid as number;
    process.kill(pid, 'SIGSTOP');
    const pending = s.spawn(request(['sleep', '60'])).catch((e: unknown) => e);
    process.kill(pid, 'SIGKILL');
    expect(await pending).toBeInstanceOf(SpawnerDiedError);
  });

  it('exits once closed, answering what it was asked first, while its tasks keep running', async () => {
    const s = spawner();
    const pid = s.pid as number;
    const spawned = s.spawn(request(['sleep', '60']));
    s.close();
    const { pid: task, startTime } = await spawned;
    groups.add(task);
    await eventually(async () => !(await isProcessAlive(pid, undefined)), 'the spawner to exit');
    expect(await isProcessAlive(task, startTime)).toBe(true);
  });

  it('holds a small heap, whatever the agent holds', async () => {
    const s = spawner();
    await Promise.all(Array.from({ length: 20 }, () => s.spawn(request(['/bin/true'])).then((a) => a.exit)));
    const status = await fs.readFile(`/proc/${s.pid}/status`, 'utf8');
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
    // A bare Node process is about 40 MiB; the agent is twice that and more.
    expect(rssKiB / 1024).toBeLessThan(60);
  });
});
