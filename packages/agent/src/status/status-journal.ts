/**
 * Status updates the master has not acked yet. Delivery is at least once:
 * each update is written here (one file, atomically) before it is sent, is
 * resent after every reconnect, and its file is removed only when the master
 * acks its uuid. A crash at any point loses nothing; at worst the master sees
 * an update twice, which it treats as a no-op.
 *
 * Files are named by a sequence number that only grows (also across
 * restarts: the task manager raises it above every checkpoint's), so sorting
 * by it gives the order updates were made, and resending in that order keeps
 * every task's updates in order.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@drover/common';
import { TaskStatus } from '@drover/proto';
import { isErrno, loadJsonFile, removeFileDurably, writeJsonAtomic } from '../checkpoint/atomic-file.js';

/** One pending update and its place in the order of updates. */
export interface JournalEntry {
  /** Position in the order updates were made. */
  readonly seq: number;
  /** The update. */
  readonly status: TaskStatus;
}

interface EntryFile {
  seq: number;
  status: unknown;
}

function isEntryFile(value: unknown): value is EntryFile {
  const v = value as EntryFile;
  return Number.isSafeInteger(v.seq) && typeof v.status === 'object' && v.status !== null;
}

/** The on-disk queue of unacked status updates. */
export class StatusJournal {
  private readonly entries = new Map<string, JournalEntry>();
  private seq = 0;

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Opens (creating if needed) the journal in `dir` and loads what is pending. */
  static async open(dir: string, logger: Logger): Promise<StatusJournal> {
    const journal = new StatusJournal(dir, logger.child({ component: 'status-journal' }));
    await fs.mkdir(dir, { recursive: true });
    for (const name of await fs.readdir(dir)) {
      if (!/^\d+\.json$/.test(name)) continue;
      const file = path.join(dir, name);
      try {
        const content = await loadJsonFile(file, isEntryFile);
        if (content === undefined) continue;
        const status = TaskStatus.fromJSON(content.status);
        journal.entries.set(status.uuid, { seq: content.seq, status });
        journal.seq = Math.max(journal.seq, content.seq);
      } catch (e) {
        journal.log.error({ file, err: e }, 'skipping unreadable pending status update');
      }
    }
    return journal;
  }

  /** The highest sequence number handed out so far. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Makes every later sequence number greater than `seq`. */
  advanceSeq(seq: number): void {
    this.seq = Math.max(this.seq, seq);
  }

  /** Writes an update to disk; once this resolves it may be sent. */
  async append(status: TaskStatus): Promise<JournalEntry> {
    const entry: JournalEntry = { seq: ++this.seq, status };
    const previous = this.entries.get(status.uuid);
    try {
      await writeJsonAtomic(this.fileOf(entry.seq), { seq: entry.seq, status: TaskStatus.toJSON(status) });
      if (previous !== undefined) await removeFileDurably(this.fileOf(previous.seq));
    } catch (e) {
      // Keep it in memory: it is still resent until acked while this agent runs.
      this.log.error({ uuid: status.uuid, taskId: status.taskId, err: e }, 'cannot write status update to disk');
    }
    this.entries.set(status.uuid, entry);
    return entry;
  }

  /** Forgets an acked update; returns it, or undefined when it was not pending. */
  async ack(uuid: string): Promise<JournalEntry | undefined> {
    const entry = this.entries.get(uuid);
    if (entry === undefined) return undefined;
    this.entries.delete(uuid);
    await this.remove(entry);
    return entry;
  }

  /** Forgets every pending update of one task (the master has its final state). */
  async dropTask(taskId: string): Promise<void> {
    for (const entry of this.forTask(taskId)) {
      this.entries.delete(entry.status.uuid);
      await this.remove(entry);
    }
  }

  /** Every pending update, oldest first. */
  pending(): JournalEntry[] {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq);
  }

  /** One task's pending updates, oldest first. */
  forTask(taskId: string): JournalEntry[] {
    return this.pending().filter((e) => e.status.taskId === taskId);
  }

  /** True while the update with this uuid awaits its ack. */
  has(uuid: string): boolean {
    return this.entries.has(uuid);
  }

  private fileOf(seq: number): string {
    return path.join(this.dir, `${String(seq).padStart(12, '0')}.json`);
  }

  private async remove(entry: JournalEntry): Promise<void> {
    try {
      await removeFileDurably(this.fileOf(entry.seq));
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) this.log.error({ uuid: entry.status.uuid, err: e }, 'cannot remove acked status update');
    }
  }
}
