import { AgentState, Event, TaskReason, TaskState } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { agent1, NOW, runningTask, unhealthyTask } from '../testing/fixtures.js';
import { formatEventLine } from './events.js';

const at = NOW.toISOString();
const event = (partial: Parameters<typeof Event.fromPartial>[0]): Event => Event.fromPartial({ id: 1, timestamp: NOW, ...partial });

describe('formatEventLine', () => {
  it.each([
    {
      name: 'a task that failed says how',
      e: event({
        type: 'status_update_event',
        payload: { $case: 'taskStatus', value: { task: { ...runningTask, state: TaskState.TASK_STATE_FAILED, exitCode: 3, reason: TaskReason.TASK_REASON_COMMAND_EXITED } } },
      }),
      want: `${at} status_update_event ${runningTask.id} FAILED on node1: exited with code 3`,
    },
    {
      name: 'a task not placed yet has no host',
      e: event({ type: 'status_update_event', payload: { $case: 'taskStatus', value: { task: { id: 'run.1', state: TaskState.TASK_STATE_PENDING } } } }),
      want: `${at} status_update_event run.1 PENDING`,
    },
    {
      name: 'a task turning healthy',
      e: event({ type: 'health_status_changed_event', payload: { $case: 'healthChanged', value: { task: unhealthyTask, alive: true } } }),
      want: `${at} health_status_changed_event ${unhealthyTask.id} healthy`,
    },
    {
      name: 'a multi-line check output stays on one line',
      e: event({ type: 'health_status_changed_event', payload: { $case: 'healthChanged', value: { task: { ...unhealthyTask, healthMessage: 'exit 1:\n  not ready\n' }, alive: false } } }),
      want: `${at} health_status_changed_event ${unhealthyTask.id} unhealthy: exit 1: not ready`,
    },
    {
      name: 'an agent being drained',
      e: event({ type: 'agent_drain_event', payload: { $case: 'agent', value: { agent: { ...agent1, draining: true } } } }),
      want: `${at} agent_drain_event agent-1 node1 ACTIVE draining`,
    },
    {
      name: 'an agent in a state newer than this CLI',
      e: event({ type: 'agent_registered_event', payload: { $case: 'agent', value: { agent: { ...agent1, state: 99 as AgentState } } } }),
      want: `${at} agent_registered_event agent-1 node1 UNKNOWN`,
    },
    { name: 'a type this CLI does not know, without payload', e: event({ type: 'framework_message_event' }), want: `${at} framework_message_event` },
    { name: 'no time', e: Event.fromPartial({ id: 2, type: 'deployment_info' }), want: '- deployment_info' },
  ])('$name', ({ e, want }) => {
    expect(formatEventLine(e)).toBe(`${want}\n`);
  });
});
