/** EventBus ids: growing within a master, above every earlier master's, and resumable across epoch changes. */
import { describe, expect, it } from 'vitest';
import { MemoryStore, MemoryStoreData } from '../testing/memory-store.js';
import { ClusterState } from '../state/cluster-state.js';
import { EVENT_IDS_PER_EPOCH, EventBus, type EventIdEpoch } from './event-bus.js';

function epochs(start: number): EventIdEpoch & { raises: number[] } {
  const e = {
    epoch: start,
    raises: [] as number[],
    async raiseEpochAbove(seen: number) {
      e.raises.push(seen);
      if (e.epoch <= seen) e.epoch = seen + 1;
      return e.epoch;
    },
  };
  return e;
}

const payload = { $case: 'app', value: { appId: '/a', version: '' } } as const;

describe('EventBus ids', () => {
  it('start at the epoch’s first id and grow by one', async () => {
    const state = await ClusterState.load(new MemoryStore(new MemoryStoreData()), { onFatal: () => undefined });
    const bus = new EventBus(state, epochs(7));
    const ids = [1, 2, 3].map(() => bus.publish('app_terminated_event', payload).id);
    expect(ids).toEqual([7 * EVENT_IDS_PER_EPOCH, 7 * EVENT_IDS_PER_EPOCH + 1, 7 * EVENT_IDS_PER_EPOCH + 2]);
  });

  it('move to a new epoch once half of one is used, so a later master’s ids stay above', async () => {
    const state = await ClusterState.load(new MemoryStore(new MemoryStoreData()), { onFatal: () => undefined });
    const e = epochs(3);
    const bus = new EventBus(state, e);
    let last = 0;
    for (let i = 0; i <= EVENT_IDS_PER_EPOCH / 2; i++) last = bus.publish('app_terminated_event', payload).id;
    expect(e.raises).toEqual([3]);
    await Promise.resolve();
    const next = bus.publish('app_terminated_event', payload).id;
    expect(next).toBe(4 * EVENT_IDS_PER_EPOCH);
    expect(next).toBeGreaterThan(last);
    // Resuming from an id of the old epoch replays across the jump.
    expect(bus.since(last - 1).map((ev) => ev.id)).toEqual([last, next]);
    expect(bus.since(next)).toEqual([]);
  });
});
