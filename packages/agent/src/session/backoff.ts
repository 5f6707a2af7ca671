/**
 * Reconnect delays: exponential (doubling from the first delay up to a cap)
 * with jitter, so a fleet of agents that lost the same master does not
 * reconnect in lockstep and stampede the new leader.
 */

/** Exponential backoff with ±25 % jitter. */
export class Backoff {
  private current: number;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    /** Source of randomness in [0, 1); tests pass a fixed one. */
    private readonly random: () => number = Math.random,
  ) {
    this.current = initialMs;
  }

  /** The next delay to wait, in ms; each call doubles the base up to the cap. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.maxMs, this.current * 2);
    const jittered = base * (0.75 + 0.5 * this.random());
    return Math.round(Math.min(this.maxMs, jittered));
  }

  /** Starts over from the first delay (after a successful registration). */
  reset(): void {
    this.current = this.initialMs;
  }
}
