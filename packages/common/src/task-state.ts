/**
 * The task lifecycle, shared by the agent (which drives it) and the master
 * (which records it).
 *
 *   ┌─────────┐   ┌─────────┐    ┌──────────┐    ┌─────────┐
 *   │ PENDING │──▶│ STAGING │───▶│ STARTING │───▶│ RUNNING │
 *   └────┬────┘   └────┬────┘    └────┬─────┘    └────┬────┘
 *        │    placed    │              │               │
 *        │  (one-off    │    kill requested (SIGTERM)  │
 *        │   tasks)     ├──────────────┴─────▶ KILLING ┤
 *        │              │                        │     │
 *        ▼              ▼                        ▼     ▼
 *   KILLED (cancelled)  FINISHED (exit 0) | FAILED (exit ≠ 0, signal, launch error)
 *                       | KILLED (ended after a requested kill)
 *
 *   PENDING is a one-off task the master accepted but has not placed; app
 *   instances have no task until they are placed, so they start at STAGING.
 *
 *   Any live state ──▶ LOST  (master side: the task was given up; it is
 *                             replaced, and killed on sight if it returns)
 *
 *   STAGING | STARTING | RUNNING | KILLING ──▶ UNREACHABLE ──▶ STAGING | STARTING
 *     (master side: the agent went silent;         │          | RUNNING | KILLING
 *      the task may still run there)               │          (its agent came back
 *                                                  │           with the same boot id
 *                                                  │           and reports it so)
 *                                                  └──▶ any terminal state
 *                                                       (LOST: expunged, or the
 *                                                        machine rebooted)
 *
 * Arrows go forward, with one exception: UNREACHABLE is the master not
 * knowing, not a step of the task's life, so a task leaves it for whatever
 * state its returning agent reports. A state may be skipped (an update can
 * be coalesced: a master that was down sees STAGING then FINISHED), the
 * four terminal states are final, and only the master moves a task into
 * UNREACHABLE (agents never report it).
 *
 * `advance` only type-checks for arrows in the diagram; `transition` checks
 * states that arrive at run time (from the wire or the store).
 */
import type { TaskStateName } from '@drover/proto';
import { Code } from './errors/code.js';
import { DroverError } from './errors/drover-error.js';

export type { TaskStateName };

const ENDS = ['FINISHED', 'FAILED', 'KILLED', 'LOST'] as const;

const TRANSITIONS = {
  PENDING: ['STAGING', 'KILLED'],
  STAGING: ['STARTING', 'RUNNING', 'KILLING', 'UNREACHABLE', ...ENDS],
  STARTING: ['RUNNING', 'KILLING', 'UNREACHABLE', ...ENDS],
  RUNNING: ['KILLING', 'UNREACHABLE', ...ENDS],
  KILLING: ['UNREACHABLE', ...ENDS],
  UNREACHABLE: ['STAGING', 'STARTING', 'RUNNING', 'KILLING', ...ENDS],
  FINISHED: [],
  FAILED: [],
  KILLED: [],
  LOST: [],
} as const satisfies Record<TaskStateName, readonly TaskStateName[]>;

/** The states a task may move to from S. */
export type NextState<S extends TaskStateName> = (typeof TRANSITIONS)[S][number];

/** States from which a task never moves again. */
export type TerminalState = (typeof ENDS)[number];

/** States in which a task holds resources on its agent. */
export type LiveState = Exclude<TaskStateName, TerminalState>;

/** Every state, in lifecycle order. */
export const TASK_STATES = Object.keys(TRANSITIONS) as TaskStateName[];

/** True for FINISHED, FAILED, KILLED and LOST. */
export function isTerminal(state: TaskStateName): state is TerminalState {
  return (ENDS as readonly TaskStateName[]).includes(state);
}

/**
 * True while the task holds resources (STAGING, STARTING, RUNNING, KILLING,
 * and UNREACHABLE: nobody knows it stopped, so its agent keeps it accounted).
 */
export function isLive(state: TaskStateName): state is LiveState {
  return !isTerminal(state);
}

/** True when the diagram has an arrow from `from` to `to`. */
export function canTransition(from: TaskStateName, to: TaskStateName): boolean {
  return (TRANSITIONS[from] as readonly TaskStateName[]).includes(to);
}

/** A move the lifecycle does not allow. */
export class IllegalTransitionError extends DroverError {
  override name = 'IllegalTransitionError';
  constructor(
    readonly from: TaskStateName,
    readonly to: TaskStateName,
  ) {
    super(`illegal task state transition ${from} -> ${to}`, Code.FailedPrecondition);
  }
}

/** Checks a transition whose states are only known at run time. */
export function transition(from: TaskStateName, to: TaskStateName): TaskStateName {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

/** A transition the compiler can check: `advance('RUNNING', 'STAGING')` does not compile. */
export function advance<S extends TaskStateName>(from: S, to: NextState<S>): NextState<S> {
  transition(from, to);
  return to;
}
