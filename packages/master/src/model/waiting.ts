/**
 * Why instances wait. The orchestrator decides it (a launch backoff, or
 * the scheduler's explanation of what it could not place) and the API
 * layer shows it to operators.
 */
import type { Explanation } from '@drover/scheduler';

/** Instances (or a one-off task) waiting, and why. */
export interface Waiting {
  /** How many instances wait. */
  readonly instances: number;
  /** Why. */
  readonly explanation: Explanation;
}
