import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOIN_FAILED_EXIT_CODE, programProblem, wrappedCommand } from './join-wrapper.js';

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-wrapper-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('join wrapper', () => {
  // Plain files stand in for cgroup.procs: the wrapper's protocol is the same.
  it('writes its own pid into every procs file, then execs the program with its arguments as they are', async () => {
    const files = [path.join(dir, 'a.procs'), path.join(dir, 'b.procs')];
    const [program, ...args] = wrappedCommand(files, undefined, '/bin/sh', ['-c', 'echo $$; printf "%s|" "$@"', 'x', 'a b', '$HOME', '']);
    const { stdout } = await run(program, args);
    const [pid, echoed] = stdout.split('\n');
    expect(echoed).toBe('a b|$HOME||');
    for (const file of files) expect((await fs.readFile(file, 'utf8')).trim()).toBe(pid);
  });

  it(`exits ${JOIN_FAILED_EXIT_CODE} without running the program when a join fails`, async () => {
    const marker = path.join(dir, 'ran');
    const [program, ...args] = wrappedCommand([path.join(dir, 'missing', 'cgroup.procs')], undefined, '/bin/sh', ['-c', `touch ${marker}`]);
    const failure = await run(program, args).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure?.code).toBe(JOIN_FAILED_EXIT_CODE);
    expect(failure?.stderr).toContain(`drover: cannot move the task into ${path.join(dir, 'missing', 'cgroup.procs')}`);
    await expect(fs.access(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('drops to the user through setpriv last, after the joins', () => {
    expect(wrappedCommand(['/cg/cgroup.procs'], { setpriv: '/usr/bin/setpriv', uid: 65534, gid: 65534 }, 'id', ['-u']).slice(3)).toEqual([
      'drover-join',
      '1',
      '/cg/cgroup.procs',
      '/usr/bin/setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--init-groups',
      '--',
      'id',
      '-u',
    ]);
  });

  it.each([
    { name: 'an absolute program', program: '/bin/sh', searchPath: '', problem: undefined },
    { name: 'a program found in PATH', program: 'sh', searchPath: '/nope:/bin', problem: undefined },
    { name: 'a missing absolute program', program: '/nope/missing', searchPath: '/bin', problem: 'ENOENT' },
    { name: 'a name not in PATH', program: 'surely-not-a-program', searchPath: '/bin:/usr/bin', problem: 'ENOENT' },
    { name: 'a directory', program: '/tmp', searchPath: '', problem: 'EACCES' },
  ])('finds $name as execvp would', async ({ program, searchPath, problem }) => {
    expect(await programProblem(program, searchPath, dir)).toBe(problem);
  });

  it('resolves a relative program against the working directory', async () => {
    await fs.writeFile(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await fs.writeFile(path.join(dir, 'data'), '', { mode: 0o644 });
    expect(await programProblem('./run.sh', '', dir)).toBeUndefined();
    // Root may execute anything with an x bit, but not a file without any.
    expect(await programProblem('./data', '', dir)).toBe('EACCES');
  });
});
