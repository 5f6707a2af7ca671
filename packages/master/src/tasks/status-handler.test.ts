/**
 * StatusHandler on its own: every kind of TaskStatus an agent may send,
 * at least once and in any order, and what the master records and sends
 * back. The ack is the caller's; what is checked here is that the record
 * is durable when handle() resolves, and that a task the master does not
 * want is killed on sight.
 */
import { HealthState, type TaskStatus, TaskStatus as TaskStatusMessage, TaskState } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import type { Mutation } from '../model/mutation.js';
import type { TaskRecord } from '../model/records.js';
import { appRecord, taskRecord } from '../store/conformance/store-conformance.js';
import { agentKit } from '../testing/agent-kit.js';
import { recordingSession } from '../testing/recording-session.js';

const VERSION = '2026-01-01T00:00:00.000Z';

function status(taskId: string, state: TaskState, extra: Partial<TaskStatus> = {}): TaskStatus {
  return TaskStatusMessage.fromPartial({ uuid: `${taskId}-${state}`, taskId, state, timestamp: new Date(999_000), pid: 7, ...extra });
}

/** A kit whose store holds /web and `tasks`, with agent-a connected. */
async function withTasks(tasks: TaskRecord[]) {
  const stored: Mutation[] = [{ kind: 'putApp', app: appRecord('/web', { version: VERSION }) }, ...tasks.map((task) => ({ kind: 'putTask', task }) as const)];
  const kit = await agentKit(stored);
  const agent = recordingSession('agent-a');
  kit.sessions.attach('agent-a', agent.session, kit.now);
  return { kit, agent };
}

describe('StatusHandler.handle', () => {
  it.each<{ name: string; task: TaskRecord; from?: string; status: TaskStatus; expected: { state?: string; returned: boolean; kill?: string } }>([
    { name: 'a task starting runs', task: taskRecord('t', { agentId: 'agent-a', state: 'STARTING', startedAt: undefined }), status: status('t', TaskState.TASK_STATE_RUNNING), expected: { state: 'RUNNING', returned: true } },
    { name: 'a repeat changes nothing', task: taskRecord('t', { agentId: 'agent-a', state: 'RUNNING' }), status: status('t', TaskState.TASK_STATE_RUNNING), expected: { state: 'RUNNING', returned: false } },
    { name: 'a status older than what is known is ignored', task: taskRecord('t', { agentId: 'agent-a', state: 'RUNNING' }), status: status('t', TaskState.TASK_STATE_STARTING), expected: { state: 'RUNNING', returned: false } },
    { name: 'a task ends', task: taskRecord('t', { agentId: 'agent-a', state: 'RUNNING' }), status: status('t', TaskState.TASK_STATE_FINISHED, { exitCode: 0 }), expected: { state: 'FINISHED', returned: true } },
    {
      name: 'a live report of a task the master gave up is killed',
      task: taskRecord('t', { agentId: 'agent-a', state: 'LOST' }),
      status: status('t', TaskState.TASK_STATE_RUNNING),
      expected: { state: 'LOST', returned: false, kill: 'killed as orphan: the master already considers it LOST' },
    },
    {
      name: 'a live report from an agent the task is not on is killed there',
      task: taskRecord('t', { agentId: 'agent-b', state: 'RUNNING' }),
      status: status('t', TaskState.TASK_STATE_RUNNING),
      expected: { state: 'RUNNING', returned: false, kill: 'killed as orphan: the master does not know this task' },
    },
    { name: 'an ended report of a task the master gave up changes nothing', task: taskRecord('t', { agentId: 'agent-a', state: 'LOST' }), status: status('t', TaskState.TASK_STATE_KILLED), expected: { state: 'LOST', returned: false } },
  ])('$name', async ({ task, status: s, expected }) => {
    const { kit, agent } = await withTasks([task]);
    const returned = await kit.statuses.handle('agent-a', s);
    expect(returned !== undefined).toBe(expected.returned);
    expect(kit.state.task('t')?.state).toBe(expected.state);
    // Durable when handle() resolved: the store holds the same record.
    expect((await kit.state.settle(), JSON.parse(kit.data.records.get('task:t') ?? 'null'))?.state).toBe(expected.state);
    const kills = agent.commands().flatMap((c) => (c.$case === 'kill' ? [c.value.message] : []));
    expect(kills).toEqual(expected.kill ? [expected.kill] : []);
  });

  it('kills a task it never heard of when reported live, and ignores one reported ended', async () => {
    const { kit, agent } = await withTasks([]);
    expect(await kit.statuses.handle('agent-a', status('ghost', TaskState.TASK_STATE_RUNNING))).toBeUndefined();
    expect(await kit.statuses.handle('agent-a', status('gone', TaskState.TASK_STATE_FINISHED))).toBeUndefined();
    expect(agent.commands()).toEqual([{ $case: 'kill', value: { taskId: 'ghost', gracePeriodSeconds: 3, reason: expect.any(Number), message: 'killed as orphan: the master does not know this task' } }]);
    expect(kit.state.task('ghost')).toBeUndefined();
  });

  it('records a failure on the app and counts it for the launch backoff', async () => {
    const { kit } = await withTasks([taskRecord('t', { agentId: 'agent-a', appVersion: VERSION })]);
    await kit.statuses.handle('agent-a', status('t', TaskState.TASK_STATE_FAILED, { exitCode: 3, message: 'exited with code 3', stderrTail: Buffer.from('boom\n') }));
    const app = kit.state.app('/web');
    expect(app?.lastTaskFailure).toMatchObject({ taskId: 't', state: 'FAILED', exitCode: 3, message: 'exited with code 3', stderrTail: 'boom\n', timestamp: 999_000 });
    expect(kit.backoff.view(app as NonNullable<typeof app>, kit.now)).toMatchObject({ failures: 1, delayMs: 1000 });
  });

  it('a kill the master asked for is no failure of the app', async () => {
    const { kit } = await withTasks([taskRecord('t', { agentId: 'agent-a', appVersion: VERSION, killRequested: true })]);
    await kit.statuses.handle('agent-a', status('t', TaskState.TASK_STATE_KILLED));
    expect(kit.state.app('/web')?.lastTaskFailure).toBeUndefined();
  });

  it('applies a health change of a running task', async () => {
    const { kit } = await withTasks([taskRecord('t', { agentId: 'agent-a', health: 'UNKNOWN' })]);
    await kit.statuses.handle('agent-a', status('t', TaskState.TASK_STATE_RUNNING, { health: HealthState.HEALTH_STATE_HEALTHY }));
    expect(kit.state.task('t')).toMatchObject({ health: 'HEALTHY', everHealthy: true });
  });
});
