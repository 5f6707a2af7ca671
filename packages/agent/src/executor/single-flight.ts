/**
 * One launch per task id at a time: a second launch of a task still being
 * started joins the first instead of starting the task twice (the
 * idempotence executor.ts promises; the task manager may retry a launch
 * after a reconnect while the first is still pulling an image).
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** The running call for `key`, or a new one from `start` that is forgotten when it settles. */
  run(key: string, start: () => Promise<T>): Promise<T> {
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = start().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }
}
