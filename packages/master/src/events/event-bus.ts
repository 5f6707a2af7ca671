/**
 * The master's event feed (gRPC Events.Watch, HTTP /v2/events).
 *
 * Every event gets the next id as it is published, and is delivered to
 * subscribers only once the state change it describes is durable, so a
 * client never sees an event the master could forget in a crash. The last
 * events are held in a ring so a client that reconnects with the last id
 * it saw (Last-Event-ID) gets everything it missed.
 *
 * Ids grow across master restarts and failovers, so a client resuming with
 * an id from an earlier master gets every event of the current one instead
 * of waiting for the new ids to catch up with its old one: an id is at
 * least the master's epoch times 65,536 (EVENT_IDS_PER_EPOCH), and epochs
 * only grow, from master to master. A master that has used half of its
 * epoch's ids raises its epoch (one durable write per 32,768 events), so
 * its ids stay below those of any later master. Events themselves are not
 * persisted: those an earlier master published but never delivered are
 * gone, and a client should re-read state when the ids it gets jump.
 */
import type { Event } from '@drover/proto';
import type { Leadership } from '../leadership/leadership.js';
import type { ClusterState } from '../state/cluster-state.js';

/** Event ids each epoch owns: ids of epoch e start at e × this. */
export const EVENT_IDS_PER_EPOCH = 65_536;

/** What the bus needs of the leadership: the epoch, and a way to move past it. */
export type EventIdEpoch = Pick<Leadership, 'epoch' | 'raiseEpochAbove'>;

/** The typed part of an event. */
export type EventPayload = NonNullable<Event['payload']>;

/** Events held for replay. */
export const EVENT_BUFFER_SIZE = 10_000;

/** Publishes events in order to live subscribers, with replay. */
export class EventBus {
  private readonly buffer: Event[] = [];
  private lastId = 0;
  private raising = false;
  private readonly subscribers = new Set<(event: Event) => void>();
  private delivery: Promise<void> = Promise.resolve();
  private delivered = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly epochs: EventIdEpoch,
  ) {}

  /** Publishes one event (delivered once the current writes are durable). */
  publish(type: string, payload: EventPayload): Event {
    const event: Event = { id: this.nextId(), timestamp: new Date(), type, payload };
    this.buffer.push(event);
    if (this.buffer.length > EVENT_BUFFER_SIZE) this.buffer.shift();
    this.delivery = this.delivery
      .then(() => this.state.settle())
      .then(() => {
        this.delivered = event.id;
        for (const s of [...this.subscribers]) s(event);
      })
      .catch(() => undefined);
    return event;
  }

  /** Held events with an id above `afterId`, oldest first. */
  since(afterId: number): Event[] {
    // Ids grow but skip (epoch changes): find the first above afterId by bisection.
    let lo = 0;
    let hi = this.buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.buffer[mid] as Event).id <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return this.buffer.slice(lo);
  }

  /** The next id: above the last, and at least this epoch's first. */
  private nextId(): number {
    const epoch = this.epochs.epoch;
    const base = epoch * EVENT_IDS_PER_EPOCH;
    this.lastId = Math.max(this.lastId + 1, base);
    if (this.lastId - base >= EVENT_IDS_PER_EPOCH / 2 && !this.raising) {
      // Half the epoch's ids used: move to a new epoch long before they run out.
      this.raising = true;
      void this.epochs
        .raiseEpochAbove(epoch)
        .catch(() => undefined) // a refused raise means this master is deposed; it is stopping
        .finally(() => (this.raising = false));
    }
    return this.lastId;
  }

  /**
   * Subscribes. With `afterId`, first replays the held events newer than it
   * that were already delivered (synchronously, so they come before any new
   * one); every later event follows live, each exactly once, in order.
   */
  subscribe(listener: (event: Event) => void, afterId?: number): () => void {
    if (afterId !== undefined) {
      for (const e of this.since(afterId)) if (e.id <= this.delivered) listener(e);
    }
    const live = (e: Event): void => listener(e);
    this.subscribers.add(live);
    return () => this.subscribers.delete(live);
  }
}
