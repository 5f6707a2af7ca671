import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../testing/fake-master.js';
import { isProcessAlive } from './proc-stat.js';
import { signalGroup } from './process-group.js';
import { killStrayTask, taskLeaders } from './stray-task.js';

const groups = new Set<number>();

/** A detached `sleep 60` (its own session, as a task leader) with DROVER_TASK_ID set to `taskId` and maybe more first. */
function leader(env: Record<string, string>): number {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, ...env } });
  child.unref();
  groups.add(child.pid as number);
  return child.pid as number;
}

afterEach(() => {
  for (const pid of groups) signalGroup(pid, 'SIGKILL');
  groups.clear();
});

describe('stray task processes', () => {
  it.each<{ name: string; env: Record<string, string>; found: boolean }>([
    { name: 'the variable first', env: { DROVER_TASK_ID: 'app.1' }, found: true },
    { name: 'the variable after others', env: { A: 'x', DROVER_TASK_ID: 'app.1', B: 'y' }, found: true },
    { name: 'another task id', env: { DROVER_TASK_ID: 'app.10' }, found: false },
    { name: 'the id as part of another variable', env: { OTHER: 'DROVER_TASK_ID=app.1' }, found: false },
  ])('finds a session leader by its environment: $name', async ({ env, found }) => {
    const pid = leader(env);
    await eventually(async () => (await isProcessAlive(pid, undefined)) || undefined, 'the leader to run');
    expect((await taskLeaders('app.1')).includes(pid)).toBe(found);
  });

  it('kills the process group of a stray task and nothing else', async () => {
    const stray = leader({ DROVER_TASK_ID: 'stray.1' });
    const other = leader({ DROVER_TASK_ID: 'other.1' });
    expect(await killStrayTask('stray.1')).toBe(1);
    await eventually(async () => !(await isProcessAlive(stray, undefined)), 'the stray task to die');
    expect(await isProcessAlive(other, undefined)).toBe(true);
  });
});
