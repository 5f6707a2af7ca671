/**
 * Status updates the master has not acked yet. Delivery is at least once:
 * each update is on disk before it is sent, is resent after every
 * reconnect, and is forgotten only when the master acks its uuid. A crash at
 * any point loses nothing; at worst the master sees an update twice, which
 * it treats as a no-op.
 *
 * Group commit. Updates made while a write is in progress wait and go to
 * disk together in the next batch: one file, one fsync of it, one fsync of
 * the directory, however many updates a burst of launches makes. A batch file
 * is written in place, without a temporary file: a crash while it is written
 * can leave it torn, but none of its updates was sent yet (append resolves
 * only after the fsyncs), so recovery skipping a torn file loses nothing that
 * anyone saw.
 *
 * Acks need no fsync. An ack only forgets; a file removed once all its
 * updates are acked that comes back after a power loss makes the agent
 * resend acked updates, which at-least-once delivery allows.
 *
 * Sequence numbers only grow (also across restarts: the task manager raises
 * them above every checkpoint's), so sorting by them gives the order updates
 * were made, and resending in that order keeps every task's updates in order.
 * Files are named by the first sequence number they hold. Files from agents
 * before group commit hold one update each ({seq, status}) and load the same.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@drover/common';
import { TaskStatus } from '@drover/proto';
import { isErrno, loadJsonFile } from '../checkpoint/atomic-file.js';
import { syncDir, syncFd } from '../checkpoint/group-sync.js';

/** One pending update and its place in the order of updates. */
export interface JournalEntry {
  /** Position in the order updates were made. */
  readonly seq: number;
  /** The update. */
  readonly status: TaskStatus;
}

interface EntryRecord {
  seq: number;
  status: unknown;
}

/** A batch file; a file of an older agent is one EntryRecord. */
type JournalFile = { entries: EntryRecord[] } | EntryRecord;

function isEntryRecord(value: unknown): value is EntryRecord {
  const v = value as EntryRecord;
  return typeof v === 'object' && v !== null && Number.isSafeInteger(v.seq) && typeof v.status === 'object' && v.status !== null;
}

function isJournalFile(value: unknown): value is JournalFile {
  const v = value as { entries?: unknown };
  return Array.isArray(v.entries) ? v.entries.every(isEntryRecord) : isEntryRecord(value);
}

interface Pending extends JournalEntry {
  /** The batch file it is in (undefined while its batch is being written). */
  file?: string;
}

/** Updates waiting for the next write, and its outcome. */
interface Batch {
  readonly entries: Pending[];
  readonly written: Promise<void>;
  readonly resolve: () => void;
}

/** The on-disk queue of unacked status updates. */
export class StatusJournal {
  private readonly entries = new Map<string, Pending>();
  /** Uuids still pending in each batch file; a file goes when its set is empty. */
  private readonly files = new Map<string, Set<string>>();
  private seq = 0;
  private writing = false;
  private next: Batch | undefined;

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Opens (creating if needed) the journal in `dir` and loads what is pending. */
  static async open(dir: string, logger: Logger): Promise<StatusJournal> {
    const journal = new StatusJournal(dir, logger.child({ component: 'status-journal' }));
    await fs.mkdir(dir, { recursive: true });
    for (const name of (await fs.readdir(dir)).sort()) {
      if (!/^\d+\.json$/.test(name)) continue;
      const file = path.join(dir, name);
      // Past every name, readable or not: a new batch file never takes the name of an old one.
      journal.seq = Math.max(journal.seq, Number(name.slice(0, -'.json'.length)));
      try {
        const content = await loadJsonFile(file, isJournalFile);
        if (content === undefined) continue;
        for (const record of 'entries' in content ? content.entries : [content]) {
          const status = TaskStatus.fromJSON(record.status);
          journal.seq = Math.max(journal.seq, record.seq);
          // The same update journaled twice (recovery re-journals a final status): the later one counts.
          const known = journal.entries.get(status.uuid);
          if (known !== undefined && known.seq > record.seq) continue;
          if (known?.file !== undefined) await journal.forgetIn(known.file, status.uuid);
          journal.entries.set(status.uuid, { seq: record.seq, status, file });
          journal.uuidsIn(file).add(status.uuid);
        }
        if (!journal.files.has(file)) await fs.rm(file, { force: true });
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

  /** Writes an update to disk (with the others of its batch); once this resolves it may be sent. */
  async append(status: TaskStatus): Promise<JournalEntry> {
    const entry: Pending = { seq: ++this.seq, status };
    const previous = this.entries.get(status.uuid);
    if (previous?.file !== undefined) void this.forgetIn(previous.file, status.uuid);
    this.entries.set(status.uuid, entry);
    const batch = this.batchToJoin();
    batch.entries.push(entry);
    this.startWriting();
    await batch.written;
    return { seq: entry.seq, status: entry.status };
  }

  /** Forgets an acked update; returns it, or undefined when it was not pending. */
  async ack(uuid: string): Promise<JournalEntry | undefined> {
    const entry = this.entries.get(uuid);
    if (entry === undefined) return undefined;
    this.entries.delete(uuid);
    if (entry.file !== undefined) await this.forgetIn(entry.file, uuid);
    return { seq: entry.seq, status: entry.status };
  }

  /** Forgets every pending update of one task (the master has its final state). */
  async dropTask(taskId: string): Promise<void> {
    for (const entry of this.forTask(taskId)) await this.ack(entry.status.uuid);
  }

  /** Every pending update, oldest first. */
  pending(): JournalEntry[] {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq).map((e) => ({ seq: e.seq, status: e.status }));
  }

  /** One task's pending updates, oldest first. */
  forTask(taskId: string): JournalEntry[] {
    return this.pending().filter((e) => e.status.taskId === taskId);
  }

  /** True while the update with this uuid awaits its ack. */
  has(uuid: string): boolean {
    return this.entries.has(uuid);
  }

  private batchToJoin(): Batch {
    if (this.next !== undefined) return this.next;
    let resolve!: () => void;
    const written = new Promise<void>((r) => {
      resolve = r;
    });
    this.next = { entries: [], written, resolve };
    return this.next;
  }

  /** Writes batches one after the other while there are any; a no-op while one is being written. */
  private startWriting(): void {
    if (this.writing) return;
    this.writing = true;
    void (async () => {
      try {
        for (let batch = this.next; batch !== undefined; batch = this.next) {
          this.next = undefined;
          await this.write(batch.entries);
          batch.resolve();
        }
      } finally {
        this.writing = false;
      }
    })();
  }

  /** Writes one batch file; never throws (a failed write keeps the updates in memory only). */
  private async write(batch: Pending[]): Promise<void> {
    // Acked while waiting for their batch: nothing to write.
    const live = batch.filter((e) => this.entries.get(e.status.uuid) === e);
    if (live.length === 0) return;
    const file = path.join(this.dir, `${String(live[0]?.seq).padStart(12, '0')}.json`);
    const content = { entries: live.map((e) => ({ seq: e.seq, status: TaskStatus.toJSON(e.status) })) };
    try {
      // Synchronous but for the fsyncs, as checkpoint/atomic-file.ts explains.
      const fd = fsSync.openSync(file, 'wx', 0o600);
      try {
        fsSync.writeFileSync(fd, `${JSON.stringify(content)}\n`, 'utf8');
        await syncFd(fd);
      } finally {
        fsSync.closeSync(fd);
      }
      await syncDir(this.dir);
    } catch (e) {
      // Keep them in memory: they are still resent until acked while this agent runs.
      this.log.error({ file, updates: live.length, err: e }, 'cannot write status updates to disk');
      return;
    }
    const uuids = this.uuidsIn(file);
    for (const entry of live) {
      // Acked or replaced while the file was written: it is not pending in it.
      if (this.entries.get(entry.status.uuid) !== entry) continue;
      entry.file = file;
      uuids.add(entry.status.uuid);
    }
    if (uuids.size === 0) await this.removeFile(file);
  }

  private uuidsIn(file: string): Set<string> {
    let uuids = this.files.get(file);
    if (uuids === undefined) {
      uuids = new Set();
      this.files.set(file, uuids);
    }
    return uuids;
  }

  /** `uuid` is no longer pending in `file`; the file goes once nothing in it is. */
  private async forgetIn(file: string, uuid: string): Promise<void> {
    const uuids = this.files.get(file);
    if (uuids === undefined) return;
    uuids.delete(uuid);
    if (uuids.size === 0) await this.removeFile(file);
  }

  /** Removes a batch file without an fsync (see the top of the file). */
  private async removeFile(file: string): Promise<void> {
    this.files.delete(file);
    try {
      fsSync.unlinkSync(file);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) this.log.error({ file, err: e }, 'cannot remove acked status updates');
    }
  }
}
