import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TaskReason } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from './executor/proc-stat.js';
import { signalGroup } from './executor/process-group.js';
import { AgentHarness, readable } from './testing/agent-harness.js';
import { eventually } from './testing/fake-master.js';
import { shellTask, taskIgnoresTerm, termIgnoringTask } from './testing/task-specs.js';

const h = new AgentHarness();
afterEach(() => h.cleanup());

/** Starts an agent on `workDir`, runs `sleep 60` on it, and stops the agent (the task keeps running). */
async function taskLeftRunning(autoAck = true) {
  const master = await h.master({ autoAck });
  const workDir = await h.workDir();
  const first = await h.agent(master, workDir);
  const agentId = await first.registered();
  const spec = shellTask('sleep 60', { killGracePeriodSeconds: 2 });
  master.latest?.send({ $case: 'launch', value: { task: spec } });
  const running = await h.reached(master, spec.taskId, 'RUNNING');
  await first.stop();
  return { master, workDir, agentId, spec, running };
}

describe('agent recovery', () => {
  it('leaves tasks running on stop and re-adopts them on restart, still able to kill them', async () => {
    const { master, workDir, agentId, spec, running } = await taskLeftRunning();
    expect(() => process.kill(running.pid, 0)).not.toThrow();

    const second = await h.agent(master, workDir);
    expect(second.id).toBe(agentId);
    await second.registered();
    const register = master.latest?.register;
    expect(register?.agentId).toBe(agentId);
    expect(register?.tasks.map(readable)).toEqual([
      expect.objectContaining({ state: 'RUNNING', pid: running.pid, uuid: running.uuid }),
    ]);
    // With its spec, for a master that lost its state to adopt it.
    expect(register?.taskSpecs).toEqual([spec]);

    master.latest?.send({ $case: 'kill', value: { taskId: spec.taskId, gracePeriodSeconds: 0, reason: 0, message: '' } });
    const killed = await h.reached(master, spec.taskId, 'KILLED');
    expect(killed).toMatchObject({ reason: 'KILL_REQUESTED', pid: running.pid });
    expect(killed.message).toContain('exit status unknown');
    expect(await isProcessAlive(running.pid, undefined)).toBe(false);
  });

  it('reports a task that died while the agent was down as FAILED/ENDED_WHILE_AGENT_DOWN', async () => {
    const { master, workDir, spec, running } = await taskLeftRunning();
    signalGroup(running.pid, 'SIGKILL');
    await eventually(async () => !(await isProcessAlive(running.pid, undefined)), 'the task to die');

    await (await h.agent(master, workDir)).registered();
    const [reported] = master.latest?.register?.tasks.map(readable) ?? [];
    expect(reported).toMatchObject({
      state: 'FAILED',
      reason: 'ENDED_WHILE_AGENT_DOWN',
      message: 'ended while the agent was not running; exit status unknown',
      pid: running.pid,
    });
    // Only live tasks come with their spec: an ended one is nothing to adopt.
    expect(master.latest?.register?.taskSpecs).toEqual([]);
    // Also sent as an update, so the master acks it and the agent forgets the task.
    await eventually(() => master.latest?.statuses.find((s) => s.uuid === reported?.uuid), 'the FAILED update');
    const checkpoint = path.join(workDir, 'tasks', spec.taskId, '.drover-task.json');
    await eventually(async () => !(await fs.stat(checkpoint).then(() => true, () => false)), 'the task to be forgotten');
  });

  it('reports a re-adopted task that ends later, with its exit status unknown', async () => {
    const { master, workDir, spec, running } = await taskLeftRunning();
    await (await h.agent(master, workDir)).registered();
    signalGroup(running.pid, 'SIGKILL');
    const failed = await h.reached(master, spec.taskId, 'FAILED', 5000);
    expect(failed).toMatchObject({ reason: 'ENDED_WHILE_AGENT_DOWN', pid: running.pid });
    expect(failed.message).toContain('exit status unknown');
  });

  it('kills every task on stop({ killTasks: true }) and keeps their final status for the next session', async () => {
    const master = await h.master({ autoAck: false });
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    await first.registered();
    const stubborn = termIgnoringTask({ killGracePeriodSeconds: 0.3 });
    const polite = shellTask('sleep 60', { killGracePeriodSeconds: 5 });
    for (const spec of [stubborn, polite]) master.latest?.send({ $case: 'launch', value: { task: spec } });
    const pids = await Promise.all([stubborn, polite].map(async (s) => (await h.reached(master, s.taskId, 'RUNNING')).pid));
    await taskIgnoresTerm(workDir, stubborn.taskId);

    const started = Date.now();
    await first.stop({ killTasks: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    for (const pid of pids) expect(await isProcessAlive(pid, undefined)).toBe(false);

    await (await h.agent(master, workDir)).registered();
    const finals = master.latest?.register?.tasks.map(readable) ?? [];
    expect(finals).toHaveLength(2);
    expect(finals.find((s) => s.pid === pids[0])).toMatchObject({ state: 'KILLED', signal: 'SIGKILL', reason: 'KILL_REQUESTED' });
    expect(finals.find((s) => s.pid === pids[1])).toMatchObject({ state: 'KILLED', signal: 'SIGTERM', reason: 'KILL_REQUESTED' });
    expect(finals.every((s) => s.message.startsWith('the agent is stopping'))).toBe(true);
  });

  it('carries an interrupted kill through after a restart', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    await first.registered();
    const spec = termIgnoringTask();
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    const running = await h.reached(master, spec.taskId, 'RUNNING');
    await taskIgnoresTerm(workDir, spec.taskId);
    master.latest?.send({
      $case: 'kill',
      value: { taskId: spec.taskId, gracePeriodSeconds: 0.5, reason: TaskReason.TASK_REASON_ORPHANED, message: '' },
    });
    await h.reached(master, spec.taskId, 'KILLING');
    await first.stop();
    expect(await isProcessAlive(running.pid, undefined)).toBe(true);

    // No new KillTask: the restarted agent finishes the kill it had checkpointed.
    const second = await h.agent(master, workDir);
    await second.registered();
    expect(master.latest?.register?.tasks.map(readable)).toEqual([expect.objectContaining({ state: 'KILLING' })]);
    expect(await h.reached(master, spec.taskId, 'KILLED')).toMatchObject({ reason: 'ORPHANED', pid: running.pid });
    expect(await isProcessAlive(running.pid, undefined)).toBe(false);
  });
});
