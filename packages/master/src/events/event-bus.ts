/**
 * The master's event feed (gRPC Events.Watch, HTTP /v2/events).
 *
 * Every event gets the next id as it is published, and is delivered to
 * subscribers only once the state change it describes is durable, so a
 * client never sees an event the master could forget in a crash. The last
 * events are held in a ring so a client that reconnects with the last id
 * it saw (Last-Event-ID) gets everything it missed; ids restart with the
 * master, so a client should re-read state after a master restart.
 */
import type { Event } from '@drover/proto';
import type { ClusterState } from '../state/cluster-state.js';

/** The typed part of an event. */
export type EventPayload = NonNullable<Event['payload']>;

/** Events held for replay. */
export const EVENT_BUFFER_SIZE = 10_000;

/** Publishes events in order to live subscribers, with replay. */
export class EventBus {
  private readonly buffer: Event[] = [];
  private seq = 0;
  private readonly subscribers = new Set<(event: Event) => void>();
  private delivery: Promise<void> = Promise.resolve();
  private delivered = 0;

  constructor(private readonly state: ClusterState) {}

  /** Publishes one event (delivered once the current writes are durable). */
  publish(type: string, payload: EventPayload): Event {
    const event: Event = { id: ++this.seq, timestamp: new Date(), type, payload };
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
    const first = this.buffer[0]?.id ?? this.seq + 1;
    return this.buffer.slice(Math.max(0, afterId + 1 - first));
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
