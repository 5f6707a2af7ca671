/**
 * A minimal EventSource over fetch for tests of /v2/events (on a master, or
 * through a standby's proxy): records every frame and comment, and waits on
 * conditions rather than time.
 */
/** One parsed SSE frame. */
export interface Frame {
  id?: number;
  event?: string;
  data?: any;
}

/** A minimal EventSource over fetch that records every frame and comment. */
export class SseClient {
  readonly frames: Frame[] = [];
  readonly comments: string[] = [];
  ended = false;
  private readonly controller = new AbortController();
  private waiters: Array<() => void> = [];

  private constructor(readonly status: number, readonly headers: Headers) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient(0, new Headers());
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: client.controller.signal });
    const opened = new SseClient(res.status, res.headers);
    Object.assign(opened, { controller: client.controller });
    if (res.body) void opened.pump(res.body);
    return opened;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        this.wake();
      }
    } catch {
      // Aborted by close().
    }
    this.ended = true;
    this.wake();
  }

  private parse(block: string): void {
    const frame: Frame = {};
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) frame.id = Number(line.slice(4));
      else if (line.startsWith('event: ')) frame.event = line.slice(7);
      else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
      else continue;
      if (!line.startsWith(':')) fields++;
    }
    if (fields > 0 && frame.event !== undefined) this.frames.push(frame);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `ok` holds for what was received. */
  async until(ok: (c: SseClient) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(this.frames.map((f) => [f.id, f.event]))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Frames of the bus (with an id), in arrival order. */
  get events(): Frame[] {
    return this.frames.filter((f) => f.id !== undefined);
  }

  has(event: string, match: (data: any) => boolean = () => true): boolean {
    return this.frames.some((f) => f.event === event && match(f.data));
  }

  close(): void {
    this.controller.abort();
  }
}
