import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, DroverError } from '@drover/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openInSandbox,
  relativeNameProblem,
  resolveInSandbox,
  sandboxRoot,
  type SandboxRoot,
  unsafeRelativePath,
  unsafeSymlinkTarget,
} from './sandbox-paths.js';

const TASK = 'web.0001';
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-paths-'));
const tasksDir = path.join(base, 'tasks');
const sandbox = path.join(tasksDir, TASK);
const outside = path.join(base, 'outside');

/** Resolves and opens like the file server does; the text read, or the error's code. */
async function attempt(root: SandboxRoot, requested: string): Promise<{ code: Code } | { text: string } | { dir: true }> {
  try {
    const opened = await openInSandbox(root, await resolveInSandbox(root, requested), 'any', requested);
    try {
      if (opened.stats.isDirectory()) return { dir: true };
      return { text: (await opened.handle.readFile()).toString() };
    } finally {
      await opened.handle.close();
    }
  } catch (e) {
    if (e instanceof DroverError) return { code: e.code };
    throw e;
  }
}

beforeAll(() => {
  fs.mkdirSync(path.join(sandbox, 'logs', 'deep'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'host secret');
  fs.writeFileSync(path.join(sandbox, 'stdout'), 'task output');
  fs.writeFileSync(path.join(sandbox, 'logs', 'app.log'), 'app log');
  const link = (target: string, name: string) => fs.symlinkSync(target, path.join(sandbox, name));
  link('/etc/passwd', 'abs-out');
  link('../../outside/secret', 'rel-out');
  link(outside, 'dir-out');
  link('chain-2', 'chain-1');
  link('chain-3', 'chain-2');
  link('../../outside/secret', 'chain-3');
  link('/nonexistent/nothing', 'dangling-out');
  link('loop', 'loop');
  link('stdout', 'link-in');
  link(path.join(sandbox, 'logs', 'app.log'), 'abs-in');
  link('../stdout', 'logs/up-in');
  link('deep/../../stdout', 'logs/dotdot-in');
  link('../../../outside/secret', 'logs/deep-out');
  link('logs', 'logs-link');
  link('link-in', 'chain-in');
  execFileSync('mkfifo', [path.join(sandbox, 'fifo')]);
  // Another task's sandbox beside this one, a symlinked sandbox, and a file in the tasks dir.
  fs.mkdirSync(path.join(tasksDir, 'other.0002'));
  fs.writeFileSync(path.join(tasksDir, 'other.0002', 'stdout'), 'other task');
  fs.symlinkSync(outside, path.join(tasksDir, 'evil.0003'));
});

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('resolveInSandbox + openInSandbox', () => {
  it.each([
    { name: 'a file', path: 'stdout', want: { text: 'task output' } },
    { name: 'a nested file', path: 'logs/app.log', want: { text: 'app log' } },
    { name: 'the sandbox itself ("")', path: '', want: { dir: true } },
    { name: 'the sandbox itself (".")', path: '.', want: { dir: true } },
    { name: 'redundant slashes and dots', path: './logs//app.log', want: { text: 'app log' } },
    { name: 'a symlink inside', path: 'link-in', want: { text: 'task output' } },
    { name: 'a chain of symlinks staying inside', path: 'chain-in', want: { text: 'task output' } },
    { name: 'an absolute symlink to a file of the sandbox', path: 'abs-in', want: { text: 'app log' } },
    { name: 'a relative symlink going up but staying inside', path: 'logs/up-in', want: { text: 'task output' } },
    { name: 'a symlink with .. inside its target, staying inside', path: 'logs/dotdot-in', want: { text: 'task output' } },
    { name: 'a symlinked directory inside', path: 'logs-link/app.log', want: { text: 'app log' } },
    { name: '.. at the start', path: '../other.0002/stdout', want: { code: Code.InvalidArgument } },
    { name: '.. in the middle, even when it stays inside', path: 'logs/../stdout', want: { code: Code.InvalidArgument } },
    { name: 'a lone ..', path: '..', want: { code: Code.InvalidArgument } },
    { name: 'an absolute path', path: '/etc/passwd', want: { code: Code.InvalidArgument } },
    { name: 'an absolute path into the sandbox', path: path.join(sandbox, 'stdout'), want: { code: Code.InvalidArgument } },
    { name: 'a NUL byte', path: 'stdout\0.txt', want: { code: Code.InvalidArgument } },
    { name: 'an absolute symlink out', path: 'abs-out', want: { code: Code.PermissionDenied } },
    { name: 'a relative symlink out', path: 'rel-out', want: { code: Code.PermissionDenied } },
    { name: 'a symlink to a directory outside', path: 'dir-out/secret', want: { code: Code.PermissionDenied } },
    { name: 'listing a symlink to a directory outside', path: 'dir-out', want: { code: Code.PermissionDenied } },
    { name: 'a chain of symlinks ending outside', path: 'chain-1', want: { code: Code.PermissionDenied } },
    { name: 'a nested symlink climbing out', path: 'logs/deep-out', want: { code: Code.PermissionDenied } },
    { name: 'a dangling symlink out (refused, not NOT_FOUND: nothing is said about the host)', path: 'dangling-out', want: { code: Code.PermissionDenied } },
    { name: 'a symlink loop', path: 'loop', want: { code: Code.PermissionDenied } },
    { name: 'a missing file', path: 'nope', want: { code: Code.NotFound } },
    { name: 'a path through a file', path: 'stdout/x', want: { code: Code.NotFound } },
  ])('$name', async ({ path: requested, want }) => {
    const root = await sandboxRoot(tasksDir, TASK);
    expect(await attempt(root, requested)).toEqual(want);
  });

  it('refuses a FIFO without hanging', async () => {
    const root = await sandboxRoot(tasksDir, TASK);
    const err = await openInSandbox(root, await resolveInSandbox(root, 'fifo'), 'file', 'fifo').catch((e: unknown) => e);
    expect((err as DroverError).code).toBe(Code.InvalidArgument);
  });

  it.each([
    { name: 'an id with ..', taskId: '../outside', code: Code.InvalidArgument },
    { name: 'an id with a slash', taskId: 'a/b', code: Code.InvalidArgument },
    { name: 'a task without a sandbox', taskId: 'gone.0009', code: Code.NotFound },
    { name: 'a sandbox replaced by a symlink', taskId: 'evil.0003', code: Code.PermissionDenied },
  ])('sandboxRoot refuses $name', async ({ taskId, code }) => {
    const err = await sandboxRoot(tasksDir, taskId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(code);
  });
});

describe('swaps between the check and the open', () => {
  it('refuses a file swapped for a symlink after it was resolved (O_NOFOLLOW)', async () => {
    const root = await sandboxRoot(tasksDir, TASK);
    const victim = path.join(sandbox, 'victim');
    fs.writeFileSync(victim, 'harmless');
    const resolved = await resolveInSandbox(root, 'victim');
    fs.rmSync(victim);
    fs.symlinkSync(path.join(outside, 'secret'), victim);
    const err = await openInSandbox(root, resolved, 'file', 'victim').catch((e: unknown) => e);
    expect((err as DroverError).code).toBe(Code.PermissionDenied);
  });

  it('refuses a directory on the way swapped for a symlink out (checked through /proc/self/fd)', async () => {
    const root = await sandboxRoot(tasksDir, TASK);
    const dir = path.join(sandbox, 'swap');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'secret'), 'harmless');
    const resolved = await resolveInSandbox(root, 'swap/secret');
    fs.renameSync(dir, path.join(sandbox, 'swap.old'));
    fs.symlinkSync(outside, dir);
    const err = await openInSandbox(root, resolved, 'file', 'swap/secret').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(Code.PermissionDenied);
  });
});

describe('unsafeRelativePath', () => {
  it.each([
    { name: 'a plain name', path: 'app.tgz', why: undefined },
    { name: 'nested, with . and //', path: './a//b/./c', why: undefined },
    { name: 'a dotfile', path: '.env', why: undefined },
    { name: 'a name with dots', path: 'a..b/..c', why: undefined },
    { name: 'empty', path: '', why: 'is empty' },
    { name: 'absolute', path: '/etc/passwd', why: 'is absolute' },
    { name: 'leading ..', path: '../x', why: "contains '..'" },
    { name: 'inner ..', path: 'a/../../x', why: "contains '..'" },
    { name: 'only ..', path: '..', why: "contains '..'" },
    { name: 'the directory itself', path: './', why: 'names the directory itself' },
    { name: 'NUL', path: 'a\0b', why: 'contains a NUL byte' },
  ])('$name', ({ path, why }) => {
    expect(unsafeRelativePath(path)).toBe(why);
  });
});

describe('unsafeSymlinkTarget', () => {
  it.each([
    { name: 'a sibling', entry: 'bin/tool', target: 'tool-1.2', safe: true },
    { name: 'up then down', entry: 'bin/tool', target: '../lib/tool', safe: true },
    { name: 'the directory itself', entry: 'a/self', target: '.', safe: true },
    { name: 'up to the root of the target', entry: 'a/b/l', target: '../../x', safe: true },
    { name: 'one level too far up', entry: 'a/b/l', target: '../../../x', safe: false },
    { name: 'up from the root', entry: 'l', target: '..', safe: false },
    { name: 'absolute', entry: 'l', target: '/etc', safe: false },
    { name: '.. after a name', entry: 'l', target: 'a/a/..', safe: false },
    { name: 'empty', entry: 'l', target: '', safe: false },
  ])('$name', ({ entry, target, safe }) => {
    expect(unsafeSymlinkTarget(entry, target) === undefined).toBe(safe);
  });
});

describe('relativeNameProblem (the check reading and writing share)', () => {
  it.each([
    { name: 'a plain name', path: 'stdout', problem: undefined },
    { name: 'the sandbox itself', path: '', problem: undefined },
    { name: 'dots inside names', path: 'a..b/.c', problem: undefined },
    { name: 'a NUL byte', path: 'a\0b', problem: 'nul' },
    { name: 'an absolute path', path: '/etc/passwd', problem: 'absolute' },
    { name: 'a .. component', path: 'a/../b', problem: 'dotdot' },
    { name: 'a trailing ..', path: 'a/..', problem: 'dotdot' },
  ])('$name', ({ path: name, problem }) => {
    expect(relativeNameProblem(name)).toBe(problem);
  });
});
