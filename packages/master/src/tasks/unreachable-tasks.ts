/**
 * Tasks whose agent went silent: UNREACHABLE, then replaced, then given up,
 * as their app's unreachable strategy says (Marathon's unreachableStrategy).
 *
 *   agent silent for the lost timeout ──▶ UNREACHABLE (reason AGENT_UNREACHABLE);
 *     still counts toward its app: nothing is started in its place yet
 *   + inactiveAfterSeconds ──▶ inactive: no longer counts, so the
 *     orchestrator starts a replacement (a new task id)
 *   + expungeAfterSeconds ──▶ LOST (UNREACHABLE_EXPUNGED): given up for
 *     good, killed on sight if its agent returns
 *
 * An agent that returns before that with the same boot id brings its tasks
 * back in the state it reports (a healed partition); the orchestrator then
 * kills whatever copies its apps have too many, by their kill selection.
 * "disabled" skips all of it: the task is LOST at once, as it always was.
 *
 * Pure functions: the agent monitor and the reconciler call them with the
 * time. Stored specs written before unreachable strategies existed have
 * none: they get the default.
 */
import { DEFAULT_UNREACHABLE_STRATEGY } from '@drover/common';
import type { AppSpec } from '@drover/proto';
import type { TaskRecord } from '../model/records.js';

/** An app's unreachable strategy in milliseconds. */
export type UnreachablePolicy =
  | { readonly disabled: true }
  | { readonly disabled: false; readonly inactiveAfterMs: number; readonly expungeAfterMs: number };

/** The policy of an app's spec (a one-off task's runSpec), defaults filled. */
export function unreachablePolicy(spec: Pick<AppSpec, 'unreachableStrategy'> | undefined): UnreachablePolicy {
  const u = spec?.unreachableStrategy;
  if (u?.disabled === true) return { disabled: true };
  const inactive = u?.inactiveAfterSeconds ?? DEFAULT_UNREACHABLE_STRATEGY.inactiveAfterSeconds;
  const expunge = u?.expungeAfterSeconds ?? DEFAULT_UNREACHABLE_STRATEGY.expungeAfterSeconds;
  return { disabled: false, inactiveAfterMs: inactive * 1000, expungeAfterMs: Math.max(inactive, expunge) * 1000 };
}

/** The task as its silent agent leaves it: UNREACHABLE from `now`, or undefined when it cannot be (it ended). */
export function markUnreachable(task: TaskRecord, message: string, now: number): TaskRecord | undefined {
  if (task.state === 'UNREACHABLE' || task.state === 'PENDING' || task.state === 'FINISHED' || task.state === 'FAILED' || task.state === 'KILLED' || task.state === 'LOST') {
    return undefined;
  }
  return { ...task, state: 'UNREACHABLE', reason: 'AGENT_UNREACHABLE', message, unreachableSince: now, updatedAt: now };
}

/**
 * Milliseconds until an UNREACHABLE task stops counting toward its app (0:
 * it no longer counts); undefined for a task that is not UNREACHABLE.
 */
export function inactiveInMs(task: TaskRecord, policy: UnreachablePolicy, now: number): number | undefined {
  if (task.state !== 'UNREACHABLE') return undefined;
  if (policy.disabled) return 0;
  return Math.max(0, (task.unreachableSince ?? 0) + policy.inactiveAfterMs - now);
}

/** True when an UNREACHABLE task has been so for longer than its app allows: it is given up (LOST). */
export function expungeDue(task: TaskRecord, policy: UnreachablePolicy, now: number): boolean {
  if (task.state !== 'UNREACHABLE') return false;
  if (policy.disabled) return true;
  return now - (task.unreachableSince ?? 0) >= policy.expungeAfterMs;
}
