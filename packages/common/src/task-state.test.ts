import { describe, expect, it } from 'vitest';
import { Code } from './errors/code.js';
import {
  advance,
  canTransition,
  IllegalTransitionError,
  isLive,
  isTerminal,
  TASK_STATES,
  type TaskStateName,
  transition,
} from './task-state.js';

describe('task state machine', () => {
  it.each<{ from: TaskStateName; to: TaskStateName }>([
    { from: 'STAGING', to: 'STARTING' },
    { from: 'STARTING', to: 'RUNNING' },
    { from: 'RUNNING', to: 'FINISHED' },
    { from: 'RUNNING', to: 'FAILED' },
    { from: 'RUNNING', to: 'KILLING' },
    { from: 'KILLING', to: 'KILLED' },
    { from: 'STAGING', to: 'FINISHED' }, // a coalesced update: the master saw only the end
    { from: 'STAGING', to: 'LOST' },
    { from: 'RUNNING', to: 'LOST' },
    { from: 'PENDING', to: 'STAGING' },
    { from: 'PENDING', to: 'KILLED' },
    { from: 'RUNNING', to: 'UNREACHABLE' }, // its agent went silent
    { from: 'KILLING', to: 'UNREACHABLE' },
    { from: 'UNREACHABLE', to: 'RUNNING' }, // a healed partition: the agent reports it running
    { from: 'UNREACHABLE', to: 'STARTING' },
    { from: 'UNREACHABLE', to: 'LOST' }, // expunged, or the machine rebooted
    { from: 'UNREACHABLE', to: 'KILLED' },
  ])('allows $from -> $to', ({ from, to }) => {
    expect(canTransition(from, to)).toBe(true);
    expect(transition(from, to)).toBe(to);
  });

  it.each<{ from: TaskStateName; to: TaskStateName }>([
    { from: 'RUNNING', to: 'STAGING' },
    { from: 'RUNNING', to: 'STARTING' },
    { from: 'KILLING', to: 'RUNNING' },
    { from: 'FINISHED', to: 'RUNNING' },
    { from: 'FAILED', to: 'FAILED' },
    { from: 'KILLED', to: 'LOST' },
    { from: 'LOST', to: 'RUNNING' },
    { from: 'RUNNING', to: 'RUNNING' },
    { from: 'STAGING', to: 'PENDING' },
    { from: 'PENDING', to: 'RUNNING' },
    { from: 'PENDING', to: 'UNREACHABLE' }, // on no agent yet
    { from: 'LOST', to: 'UNREACHABLE' }, // given up is final
    { from: 'UNREACHABLE', to: 'UNREACHABLE' },
    { from: 'UNREACHABLE', to: 'PENDING' },
  ])('rejects $from -> $to', ({ from, to }) => {
    expect(canTransition(from, to)).toBe(false);
    const err = (() => {
      try {
        transition(from, to);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IllegalTransitionError);
    expect(err).toMatchObject({ from, to, code: Code.FailedPrecondition });
  });

  it('terminal states have no way out, live states all can end', () => {
    for (const from of TASK_STATES) {
      const outs = TASK_STATES.filter((to) => canTransition(from, to));
      if (isTerminal(from)) expect(outs).toEqual([]);
      // A PENDING task is on no agent yet: it can only be placed or cancelled.
      else if (from === 'PENDING') expect(outs).toEqual(['STAGING', 'KILLED']);
      else expect(outs).toEqual(expect.arrayContaining(['FAILED', 'KILLED', 'LOST']));
      expect(isLive(from)).toBe(!isTerminal(from));
    }
  });

  it('advance only compiles for arrows in the diagram', () => {
    expect(advance('STARTING', 'RUNNING')).toBe('RUNNING');
    // @ts-expect-error RUNNING -> STAGING is not an arrow in the diagram
    expect(() => advance('RUNNING', 'STAGING')).toThrow(IllegalTransitionError);
  });
});
