/**
 * The epoch this master stamps on every agent command. Agents keep the
 * highest epoch they have seen and refuse anything older, so it only grows:
 * it starts at a new store generation and is raised (durably, before any
 * message carries it) past an epoch an agent reports that this master's
 * state does not account for (its store was lost or restored from a backup;
 * see agents/registration.ts). Otherwise such an agent would refuse this
 * master forever.
 *
 * The generation the master started with is also its term (see the Store
 * port's "Fenced"): raising the epoch stays within that term, and both the
 * raise and every write of the master's state are refused once another
 * master has begun a newer one.
 */
import type { Store } from '../store/store.js';

/** This master's epoch, kept in its store. */
export class MasterEpoch {
  private raising: Promise<number> = Promise.resolve(0);

  private constructor(
    private readonly store: Pick<Store, 'nextGeneration'>,
    private value: number,
    /** The epoch this master started with: its term. */
    readonly atStart: number,
  ) {}

  /**
   * Starts a new generation (and term) of `store`, at least `atLeast` (an
   * elected master's leader key revision), and takes it as the epoch.
   */
  static async start(store: Pick<Store, 'nextGeneration'>, atLeast?: number): Promise<MasterEpoch> {
    const generation = await store.nextGeneration(atLeast);
    return new MasterEpoch(store, generation, generation);
  }

  /** The epoch to stamp on the next message. */
  get current(): number {
    return this.value;
  }

  /**
   * Makes the epoch larger than `seen` (a no-op when it already is); resolves
   * with the epoch once it is durable. Concurrent calls run one at a time.
   */
  raiseAbove(seen: number): Promise<number> {
    const next = this.raising
      .catch(() => undefined)
      .then(async () => {
        if (this.value > seen) return this.value;
        this.value = await this.store.nextGeneration(seen + 1, this.atStart);
        return this.value;
      });
    this.raising = next;
    return next;
  }
}
