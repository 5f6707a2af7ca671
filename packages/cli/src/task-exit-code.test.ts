import { type Task, TaskState } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { exitCodeOfTask } from './task-exit-code.js';
import { runningTask } from './testing/fixtures.js';

describe('exitCodeOfTask', () => {
  it.each<{ name: string; task: Partial<Task>; want: number }>([
    { name: 'FINISHED', task: { state: TaskState.TASK_STATE_FINISHED, exitCode: 0 }, want: 0 },
    { name: 'FAILED with an exit code', task: { state: TaskState.TASK_STATE_FAILED, exitCode: 3 }, want: 3 },
    { name: 'FAILED by SIGKILL (OOM killer)', task: { state: TaskState.TASK_STATE_FAILED, signal: 'SIGKILL' }, want: 137 },
    { name: 'FAILED by a signal named without SIG', task: { state: TaskState.TASK_STATE_FAILED, signal: 'SEGV' }, want: 139 },
    { name: 'FAILED by an unknown signal', task: { state: TaskState.TASK_STATE_FAILED, signal: 'SIGNOPE' }, want: 1 },
    { name: 'FAILED to launch (no code, no signal)', task: { state: TaskState.TASK_STATE_FAILED, message: 'no such file' }, want: 1 },
    { name: 'FAILED with an out-of-range code', task: { state: TaskState.TASK_STATE_FAILED, exitCode: 256 }, want: 1 },
    { name: 'KILLED, even by a signal', task: { state: TaskState.TASK_STATE_KILLED, signal: 'SIGTERM' }, want: 1 },
    { name: 'LOST', task: { state: TaskState.TASK_STATE_LOST }, want: 1 },
    { name: 'still RUNNING (the stream ended early)', task: { state: TaskState.TASK_STATE_RUNNING }, want: 1 },
  ])('$name: $want', ({ task, want }) => {
    expect(exitCodeOfTask({ ...runningTask, exitCode: undefined, signal: '', ...task })).toBe(want);
  });
});
