/**
 * Group commit of directory fsyncs. Many writers in one directory (status
 * journal batches, sandboxes created in the tasks dir during a burst) each
 * need "the directory entry I made is on disk"; one fsync of the directory
 * started after their change covers all of them. A caller that arrives while
 * a sync runs waits for the next one (the running one may have started
 * before its change); everyone who arrives meanwhile shares that next one.
 */
import fs from 'node:fs';

/** Resolves once an fsync of `dir` that started after the call has finished. */
export class GroupSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  /** Makes every change made in the directory before this call durable. */
  sync(): Promise<void> {
    if (this.running === undefined) {
      this.running = this.run();
      return this.running;
    }
    this.next ??= this.running.catch(() => undefined).then(() => {
      this.next = undefined;
      this.running = this.run();
      return this.running;
    });
    return this.next;
  }

  private async run(): Promise<void> {
    try {
      await syncDir(this.dir);
    } finally {
      this.running = undefined;
    }
  }
}

/** fsyncs a directory: the entries created, renamed or removed in it are on disk. */
export async function syncDir(dir: string): Promise<void> {
  // Opening and closing take microseconds; the fsync is what may wait (see atomic-file.ts).
  const fd = fs.openSync(dir, 'r');
  try {
    await syncFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync of an open descriptor, on the thread pool. */
export function syncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (e) => (e === null ? resolve() : reject(e))));
}
