/**
 * GET /v2/events: the EventBus as Server-Sent Events, the way Marathon
 * streams them (`event: <type>` and `data: <json>`, `?event_type=` to
 * filter, an `event_stream_attached` event first), plus what Marathon
 * lacks: an `id:` line per event, so a client that reconnects with
 * Last-Event-ID (the header browsers' EventSource sends, or
 * `?lastEventId=`) gets every event it missed that the master still holds,
 * in order, then the live ones.
 *
 * Each event is rendered to Marathon's JSON once, as the bus delivers it,
 * and that text is what every client gets, live or replayed: a replay must
 * not differ from what was sent live (a deployment's plan names app
 * versions that a later delete removes).
 *
 * A comment line goes out every heartbeat so proxies keep the connection
 * and clients notice a dead master. A client that stops reading is cut off
 * once too much is buffered for it; it resumes from its last id. The
 * subscription ends with the connection, and every stream is ended when
 * the server closes.
 */
import type { ServerResponse } from 'node:http';
import { ValidationError } from '@drover/common';
import type { Event } from '@drover/proto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EVENT_BUFFER_SIZE, type EventBus } from '../../../events/event-bus.js';
import type { SpecLookup } from './deployment-json.js';
import { eventJson } from './event-json.js';

/** Default interval of the heartbeat comment. */
export const EVENTS_HEARTBEAT_MS = 15_000;
/** A client with more than this unread is disconnected (it can resume). */
export const EVENTS_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** Knobs of the event streams. */
export interface EventStreamOptions {
  readonly heartbeatMs?: number;
  readonly maxBufferedBytes?: number;
}

/** The open /v2/events streams. */
export class EventStreams {
  private readonly open = new Set<() => void>();
  /** Event id -> its `data:` JSON, for the deployment events the bus still holds. */
  private readonly rendered = new Map<number, string>();
  private readonly stopRendering: () => void;

  constructor(
    private readonly events: EventBus,
    private readonly specOf: SpecLookup,
    private readonly options: EventStreamOptions = {},
  ) {
    // Subscribed before any stream, so it renders each event before streams send it.
    // Only deployment events read the state (their plan's app versions); the rest render the same any time.
    // A listener that throws would keep the event from the bus's later listeners: never throw.
    this.stopRendering = events.subscribe((e) => {
      if (e.payload?.$case !== 'deployment') return;
      try {
        this.rendered.set(e.id, JSON.stringify(eventJson(e, this.specOf)));
      } catch {
        return; // Rendered again when sent, where a failure ends only that stream.
      }
      if (this.rendered.size > EVENT_BUFFER_SIZE) this.rendered.delete(this.rendered.keys().next().value as number);
    });
  }

  /** How many clients are attached. */
  get size(): number {
    return this.open.size;
  }

  /** Serves one client until it goes away or the server closes. */
  serve(request: FastifyRequest, reply: FastifyReply): void {
    const query = request.query as Record<string, string | string[] | undefined>;
    const types = new Set(list(query.event_type).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== ''));
    const afterId = lastEventId(request.headers['last-event-id'], query.lastEventId);
    const wants = (type: string): boolean => types.size === 0 || types.has(type);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told otherwise.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    if (wants('event_stream_attached')) {
      const attached = { remoteAddress: request.ip, eventType: 'event_stream_attached', timestamp: new Date().toISOString() };
      res.write(`event: event_stream_attached\ndata: ${JSON.stringify(attached)}\n\n`);
    }

    const maxBuffered = this.options.maxBufferedBytes ?? EVENTS_MAX_BUFFERED_BYTES;
    let closed = false;
    let replaying = true;
    let allowance = maxBuffered;
    let unsubscribe = (): void => undefined;
    const heartbeat = setInterval(() => write(res, ': heartbeat\n\n'), this.options.heartbeatMs ?? EVENTS_HEARTBEAT_MS);
    heartbeat.unref();
    const close = (): void => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      this.open.delete(close);
      if (!res.writableEnded) res.end();
    };
    const send = (e: Event): void => {
      if (closed || !wants(e.type)) return;
      let data: string;
      try {
        data = this.data(e);
      } catch {
        // Never skip an event silently: end the stream; the client resumes from its last id.
        close();
        return;
      }
      write(res, `id: ${e.id}\nevent: ${e.type}\ndata: ${data}\n\n`);
      // A replay may fill the buffer at once: only what piles up on top of it counts.
      if (!replaying && res.writableLength > allowance) close();
    };
    // Replayed events are sent synchronously here, before any live one.
    unsubscribe = this.events.subscribe(send, afterId);
    if (closed) {
      unsubscribe(); // Closed during the replay, before there was anything to unsubscribe.
      return;
    }
    replaying = false;
    allowance = maxBuffered + res.writableLength;
    this.open.add(close);
    res.on('close', close);
  }

  /** Ends every stream and stops rendering (the server is closing). */
  closeAll(): void {
    for (const close of [...this.open]) close();
    this.stopRendering();
  }

  /** The event's JSON: a deployment event's as first rendered; any other's (and one delivered before this existed) now. */
  private data(e: Event): string {
    return this.rendered.get(e.id) ?? JSON.stringify(eventJson(e, this.specOf));
  }
}

function write(res: ServerResponse, chunk: string): void {
  if (!res.writableEnded && !res.destroyed) res.write(chunk);
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The id to resume after: the Last-Event-ID header, else ?lastEventId=, else none. */
function lastEventId(header: string | string[] | undefined, query: string | string[] | undefined): number | undefined {
  const [fromHeader] = list(header);
  const [fromQuery] = list(query);
  const raw = fromHeader ?? fromQuery;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ValidationError([{ path: fromHeader !== undefined ? 'Last-Event-ID' : 'lastEventId', message: 'must be a non-negative integer (the id of the last event seen)' }], 'invalid event stream request');
  }
  return Number(raw.trim());
}
