import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { afterEach, describe, expect, it } from 'vitest';
import { LogRotator, logKey } from './log-rotator.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A tasks dir with one sandbox; returns the paths. */
function sandboxOf(taskId = 'web.1'): { tasksDir: string; dir: string; stdout: string } {
  const tasksDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-rotate-'));
  dirs.push(tasksDir);
  const dir = path.join(tasksDir, taskId);
  fs.mkdirSync(dir);
  return { tasksDir, dir, stdout: path.join(dir, 'stdout') };
}

function rotator(tasksDir: string, live: string[], maxBytes: number, files = 3): LogRotator {
  return new LogRotator({ tasksDir, liveTasks: () => live, maxBytes, files, intervalMs: 10, logger: silentLogger() });
}

const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);

describe('LogRotator', () => {
  it('copies the live file to .1, shifts older copies, truncates, and appends land at the new start', async () => {
    const { tasksDir, stdout } = sandboxOf();
    // Opened as the executor opens it: O_APPEND, kept open across rotations.
    const fd = fs.openSync(stdout, 'a');
    const r = rotator(tasksDir, ['web.1'], 10);
    try {
      fs.writeSync(fd, 'first-batch\n');
      await r.checkNow();
      expect([read(stdout), read(`${stdout}.1`), read(`${stdout}.2`)]).toEqual(['', 'first-batch\n', undefined]);

      fs.writeSync(fd, 'second-batch\n');
      await r.checkNow();
      expect([read(stdout), read(`${stdout}.1`), read(`${stdout}.2`)]).toEqual(['', 'second-batch\n', 'first-batch\n']);

      fs.writeSync(fd, 'third-batch\n');
      await r.checkNow();
      // files = 3: the oldest copy is gone.
      expect([read(stdout), read(`${stdout}.1`), read(`${stdout}.2`), read(`${stdout}.3`)]).toEqual(['', 'third-batch\n', 'second-batch\n', undefined]);

      // Under the limit: left alone; after a rotation the task's next write starts the file (no hole).
      fs.writeSync(fd, 'small\n');
      await r.checkNow();
      expect(read(stdout)).toBe('small\n');
      expect(r.rotations(logKey('web.1', 'stdout'))).toMatchObject({ count: 3, kept: 2 });
      expect(r.rotations(logKey('web.1', 'stdout')).copied(3)).toBe('third-batch\n'.length);
      expect(r.rotations(logKey('web.1', 'stdout')).copied(1)).toBeUndefined();
    } finally {
      fs.closeSync(fd);
    }
  });

  it('with one file only truncates', async () => {
    const { tasksDir, stdout } = sandboxOf();
    fs.writeFileSync(stdout, 'x'.repeat(100));
    await rotator(tasksDir, ['web.1'], 10, 1).checkNow();
    expect(read(stdout)).toBe('');
    expect(fs.readdirSync(path.dirname(stdout))).toEqual(['stdout']);
  });

  it('leaves finished tasks, missing files and symlinked logs alone', async () => {
    const { tasksDir, dir, stdout } = sandboxOf();
    const outside = path.join(tasksDir, 'outside.txt');
    fs.writeFileSync(outside, 'y'.repeat(100));
    fs.symlinkSync(outside, stdout);
    fs.writeFileSync(path.join(dir, 'stderr'), 'z'.repeat(100));
    await rotator(tasksDir, ['web.1', 'missing.2'], 10).checkNow();
    expect(read(outside)).toBe('y'.repeat(100));
    expect(fs.readdirSync(dir).sort()).toEqual(['stderr', 'stderr.1', 'stdout']);
    // A task not in the live list is not rotated.
    fs.writeFileSync(path.join(dir, 'stderr'), 'z'.repeat(100));
    await rotator(tasksDir, [], 10).checkNow();
    expect(read(path.join(dir, 'stderr'))).toBe('z'.repeat(100));
  });

  it('keeps a busy writer bounded: .1 and .2 appear, total stays near files x limit, no holes, lines stay whole and in order', async () => {
    const { tasksDir, stdout } = sandboxOf();
    const limit = 16 * 1024;
    const fd = fs.openSync(stdout, 'a');
    // A real process writing bursts of lines to a descriptor opened with O_APPEND, as tasks do;
    // on SIGTERM it writes how many lines it wrote.
    const script = [
      'i=0',
      'trap \'echo "end $i"; exit 0\' TERM',
      'while :; do j=0; while [ $j -lt 200 ]; do echo "line $i"; i=$((i+1)); j=$((j+1)); done; sleep 0.005; done',
    ].join('; ');
    const writer = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', fd, 'ignore'] });
    fs.closeSync(fd);
    const ended = new Promise<void>((resolve) => writer.on('exit', () => resolve()));
    const r = rotator(tasksDir, ['web.1'], limit);
    let maxTotal = 0;
    const sizes = () => ['', '.1', '.2', '.3'].reduce((sum, s) => sum + (fs.existsSync(stdout + s) ? fs.statSync(stdout + s).size : 0), 0);
    while (r.rotations(logKey('web.1', 'stdout')).count < 5) {
      await r.checkNow();
      maxTotal = Math.max(maxTotal, sizes());
      await new Promise((res) => setTimeout(res, 5));
    }
    writer.kill('SIGTERM');
    await ended;
    expect(fs.existsSync(`${stdout}.1`)).toBe(true);
    expect(fs.existsSync(`${stdout}.2`)).toBe(true);
    expect(fs.existsSync(`${stdout}.3`)).toBe(false);
    // Each file holds what it had when it passed the limit, plus what came before the next check.
    expect(maxTotal).toBeLessThan(3 * limit + 128 * 1024);
    const numbers: number[] = [];
    let end: number | undefined;
    for (const s of ['.2', '.1', '']) {
      const text = fs.readFileSync(stdout + s, 'utf8');
      expect(text.includes('\0')).toBe(false);
      if (text === '') continue;
      expect(text.endsWith('\n')).toBe(true);
      for (const line of text.slice(0, -1).split('\n')) {
        expect(line).toMatch(/^(line|end) \d+$/);
        if (line.startsWith('end')) end = Number(line.slice(4));
        else numbers.push(Number(line.slice(5)));
      }
    }
    // Strictly increasing across the files: nothing duplicated, reordered or torn.
    expect(numbers.every((n, i) => i === 0 || n > (numbers[i - 1] as number))).toBe(true);
    // The newest output is all there, up to the last line the task wrote (the trap may run before or after i+1).
    const last = numbers.at(-1) as number;
    expect([last, last + 1]).toContain(end);
  });

  it('holds a rotation off while a follower reads under the lock', async () => {
    const { tasksDir, stdout } = sandboxOf();
    fs.writeFileSync(stdout, 'x'.repeat(100));
    const r = rotator(tasksDir, ['web.1'], 10);
    let release!: () => void;
    const reading = r.exclusive(logKey('web.1', 'stdout'), () => new Promise<void>((res) => (release = res)));
    const rotating = r.checkNow();
    await new Promise((res) => setTimeout(res, 30));
    expect(read(stdout)).toBe('x'.repeat(100));
    release();
    await reading;
    await rotating;
    expect(read(stdout)).toBe('');
    expect(read(`${stdout}.1`)).toBe('x'.repeat(100));
  });
});
