import { describe, expect, it } from 'vitest';
import type { TaskExit } from '../executor/executor.js';
import { endedWhileDown, endOf, type KillRequest } from './state-change.js';

const kill: KillRequest = { reason: 'KILL_REQUESTED', message: '', gracePeriodMs: 1000 };
const scaleDown: KillRequest = { reason: 'ORPHANED', message: 'app deleted', gracePeriodMs: 1000 };

describe('task end', () => {
  it.each<{ name: string; exit: TaskExit; kill?: KillRequest; mem?: number; out: object }>([
    {
      name: 'exit 0',
      exit: { kind: 'exited', exitCode: 0 },
      out: { state: 'FINISHED', reason: 'COMMAND_EXITED', exitCode: 0, message: 'exited with code 0' },
    },
    {
      name: 'exit 3',
      exit: { kind: 'exited', exitCode: 3 },
      out: { state: 'FAILED', reason: 'COMMAND_EXITED', exitCode: 3, message: 'exited with code 3' },
    },
    {
      name: 'a program that never ran: its isolation could not be set up',
      exit: { kind: 'exited', exitCode: 125, notStarted: 'cannot isolate the task: cannot move the task into /x/cgroup.procs' },
      out: { state: 'FAILED', reason: 'LAUNCH_FAILED', exitCode: 125, message: 'cannot isolate the task: cannot move the task into /x/cgroup.procs' },
    },
    {
      name: 'unrequested signal',
      exit: { kind: 'signaled', signal: 'SIGSEGV' },
      out: { state: 'FAILED', reason: 'SIGNALED', signal: 'SIGSEGV', message: 'killed by SIGSEGV' },
    },
    {
      name: 'OOM-killed',
      exit: { kind: 'signaled', signal: 'SIGKILL', oom: true },
      mem: 64,
      out: { state: 'FAILED', reason: 'MEMORY_LIMIT', signal: 'SIGKILL', message: 'killed: over its 64 MiB memory limit' },
    },
    {
      name: 'a child OOM-killed, the shell exited on its own',
      exit: { kind: 'exited', exitCode: 137, oom: true },
      mem: 128,
      out: { state: 'FAILED', reason: 'MEMORY_LIMIT', exitCode: 137, message: 'killed: over its 128 MiB memory limit' },
    },
    {
      name: 'OOM-killed, limit not known',
      exit: { kind: 'signaled', signal: 'SIGKILL', oom: true },
      out: { state: 'FAILED', reason: 'MEMORY_LIMIT', signal: 'SIGKILL', message: 'killed: over its memory limit' },
    },
    {
      name: 'OOM-killed during a requested kill',
      exit: { kind: 'signaled', signal: 'SIGKILL', oom: true },
      kill: scaleDown,
      mem: 64,
      out: { state: 'KILLED', reason: 'ORPHANED', signal: 'SIGKILL', message: 'app deleted (killed: over its 64 MiB memory limit)' },
    },
    {
      name: 'adopted task ended on its own',
      exit: { kind: 'unknown' },
      out: { state: 'FAILED', reason: 'ENDED_WHILE_AGENT_DOWN', message: 'ended after the agent restarted and re-adopted it; exit status unknown' },
    },
    {
      name: 'requested kill, SIGTERM',
      exit: { kind: 'signaled', signal: 'SIGTERM' },
      kill,
      out: { state: 'KILLED', reason: 'KILL_REQUESTED', signal: 'SIGTERM', message: 'killed by SIGTERM' },
    },
    {
      name: 'requested kill with the master reason and message',
      exit: { kind: 'signaled', signal: 'SIGKILL' },
      kill: scaleDown,
      out: { state: 'KILLED', reason: 'ORPHANED', signal: 'SIGKILL', message: 'app deleted (killed by SIGKILL)' },
    },
    {
      name: 'requested kill, clean exit on SIGTERM',
      exit: { kind: 'exited', exitCode: 0 },
      kill,
      out: { state: 'KILLED', reason: 'KILL_REQUESTED', exitCode: 0, message: 'exited with code 0 after SIGTERM' },
    },
    {
      name: 'requested kill of an adopted task',
      exit: { kind: 'unknown' },
      kill,
      out: { state: 'KILLED', reason: 'KILL_REQUESTED', message: 'killed; exit status unknown (re-adopted task)' },
    },
  ])('$name', ({ exit, kill: request, mem, out }) => {
    expect(endOf(exit, request, mem)).toEqual(out);
  });

  it.each([
    { name: 'no kill', kill: undefined, state: 'FAILED', reason: 'ENDED_WHILE_AGENT_DOWN' },
    { name: 'kill under way', kill: scaleDown, state: 'KILLED', reason: 'ORPHANED' },
  ])('ended while the agent was down: $name', ({ kill: request, state, reason }) => {
    expect(endedWhileDown(request)).toMatchObject({ state, reason, message: expect.stringContaining('exit status unknown') });
  });
});
