/**
 * The exit code of `drover run --wait`: the task's own, as if it had run in
 * the shell, so `drover run --wait -- make test && deploy` reads as it would
 * locally. A signal maps to 128 + its number, as shells report it. Numbers
 * come from this machine's table (os.constants.signals); the common signals
 * have the same numbers on every Linux agent.
 */
import { constants } from 'node:os';
import type { Task } from '@drover/proto';
import { stateName } from './output/tasks.js';

/** Exit code when the task did not end on its own (KILLED, LOST) or its end is unknown. */
const DID_NOT_COMPLETE = 1;

/** FINISHED: 0; FAILED: its exit code, or 128 + the signal's number; KILLED, LOST and anything else: 1. */
export function exitCodeOfTask(t: Task): number {
  const state = stateName(t);
  if (state === 'FINISHED') return 0;
  if (state !== 'FAILED') return DID_NOT_COMPLETE;
  if (t.exitCode !== undefined) return t.exitCode >= 1 && t.exitCode <= 255 ? t.exitCode : DID_NOT_COMPLETE;
  const name = t.signal.toUpperCase();
  const number = (constants.signals as Record<string, number | undefined>)[name.startsWith('SIG') ? name : `SIG${name}`];
  return number === undefined ? DID_NOT_COMPLETE : 128 + number;
}
