/**
 * Forgets ended tasks after a while. They are kept (default 1 hour, at most
 * 1000) so operators can see how a task ended; beyond that they would only
 * grow the store and slow every list.
 */
import { isTerminal } from '@drover/common';
import type { Clock } from '../model/clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { Mutation } from '../model/mutation.js';

/** Periodic pruning of ended tasks. */
export class TaskHistory {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: ClusterState,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
    private readonly maxCount: number,
  ) {}

  /** Prunes every minute (and once now). */
  start(intervalMs = 60_000): void {
    void this.prune();
    this.timer = setInterval(() => void this.prune(), intervalMs);
  }

  /** Stops pruning. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Deletes ended tasks past the age or count limit; returns how many. */
  async prune(): Promise<number> {
    const now = this.clock.now();
    const ended = this.state
      .allTasks()
      .filter((t) => isTerminal(t.state))
      .sort((a, b) => (b.endedAt ?? b.updatedAt) - (a.endedAt ?? a.updatedAt));
    const doomed = ended.filter((t, i) => i >= this.maxCount || now - (t.endedAt ?? t.updatedAt) > this.maxAgeMs);
    if (doomed.length === 0) return 0;
    const mutations: Mutation[] = doomed.map((t) => ({ kind: 'deleteTask', id: t.id }));
    await this.state.write(mutations);
    return doomed.length;
  }
}
