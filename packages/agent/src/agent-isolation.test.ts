/**
 * Isolation seen from the master: the capability in Register, an OOM-killed
 * task ending FAILED/MEMORY_LIMIT, a refused user, and an agent without
 * usable cgroups that still runs tasks and says so once.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Resources } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from './executor/proc-stat.js';
import { AgentHarness, forgetHandle } from './testing/agent-harness.js';
import { captureLogger } from './testing/capture-logger.js';
import { eventually } from './testing/fake-master.js';
import { describeWithCgroups } from './testing/root-only.js';
import { shellTask } from './testing/task-specs.js';

const h = new AgentHarness();
afterEach(() => h.cleanup());

describeWithCgroups('agent isolation with cgroups', () => {
  it('reports its cgroup version and ends a task over its memory limit FAILED/MEMORY_LIMIT', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir());
    await agent.registered();
    expect(master.latest?.register?.capabilities).toEqual(expect.arrayContaining([expect.stringMatching(/^isolation:cgroups-v[12]$/)]));

    const hog = 'const a = []; for (let i = 0; i < 200; i++) a.push(Buffer.alloc(1 << 20, 1)); setInterval(() => {}, 1000);';
    const spec = shellTask('', { args: [process.execPath, '-e', hog], resources: Resources.fromPartial({ cpus: 0.5, mem: 64 }) });
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    const failed = await h.reached(master, spec.taskId, 'FAILED', 15_000);
    expect(failed).toMatchObject({ reason: 'MEMORY_LIMIT', signal: 'SIGKILL', message: 'killed: over its 64 MiB memory limit' });
  });

  it('kills what an interrupted launch started, through the task cgroup, when the pid was never recorded', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    await first.registered();
    const spec = shellTask('exec sleep 60');
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    const running = await h.reached(master, spec.taskId, 'RUNNING');
    await first.stop();
    await forgetHandle(workDir, spec.taskId);

    await (await h.agent(master, workDir)).registered();
    expect(await h.reached(master, spec.taskId, 'FAILED')).toMatchObject({ reason: 'LAUNCH_FAILED', message: 'the agent stopped before the task was started' });
    await eventually(async () => !(await isProcessAlive(running.pid, undefined)), 'the unrecorded process to be killed');
  });

  it('fails the launch of a task whose user does not exist', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir());
    await agent.registered();
    const spec = shellTask('exit 0', { user: 'no-such-user-drover' });
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    const failed = await h.reached(master, spec.taskId, 'FAILED');
    expect(failed).toMatchObject({ reason: 'LAUNCH_FAILED', message: 'user "no-such-user-drover" does not exist on this agent' });
  });
});

describe('agent without usable cgroups', () => {
  it('runs tasks unlimited, warns once, and reports isolation:none', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    // An empty directory: no hierarchy of either version.
    const cgroupRoot = path.join(workDir, 'no-cgroups');
    await fs.mkdir(cgroupRoot);
    const { logger, entries } = captureLogger();
    const agent = await h.agent(master, workDir, { cgroupRoot, logger });
    await agent.registered();
    expect(master.latest?.register?.capabilities).toEqual(expect.arrayContaining(['isolation:none']));
    expect(master.latest?.register?.capabilities).not.toEqual(expect.arrayContaining([expect.stringMatching(/^isolation:cgroups/)]));

    const spec = shellTask('exit 0', { resources: Resources.fromPartial({ cpus: 0.1, mem: 16 }) });
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    expect(await h.reached(master, spec.taskId, 'FINISHED')).toMatchObject({ reason: 'COMMAND_EXITED' });

    // A reconnect registers again, without a second warning.
    master.latest?.end();
    await eventually(() => master.connections[1]?.register, 'a second Register');
    const warnings = entries.filter((e) => e.level === 'warn' && e.msg.includes('NOT enforced'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toBe(
      'no usable cgroups: task CPU, memory and process limits are NOT enforced (run the agent as root on a machine with cgroups)',
    );
  });
});
