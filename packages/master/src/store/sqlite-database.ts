/**
 * The SQLite database behind SqliteStore: one file in the master's data
 * dir, one row per app, task, agent, version and deployment holding its
 * record as JSON. Everything here is synchronous (better-sqlite3) and runs
 * on the store's worker thread (sqlite-worker.ts), never on the master's
 * event loop: a commit waits for fsync.
 *
 * Durability: WAL journal with synchronous=FULL, so a commit that returned
 * survives a crash or power loss. Batches are single transactions, which is
 * also what makes group commit cheap: the master hands over everything that
 * changed in one turn of its event loop at once.
 *
 * A lost store is never taken for a new cluster. Only a data dir without a
 * store file starts one; a file that exists but is empty, truncated, not a
 * database or without Drover's state refuses to open (StoreStateMissingError),
 * because a master on empty state would take every agent's tasks for
 * strangers. `forceNewCluster` moves such a file aside (never deletes it)
 * and starts afresh; the master then adopts what agents report.
 *
 * Terms (see store.ts, "Fenced"): meta holds the generation and the term
 * (the generation the current master started with); a fenced write checks
 * the term inside its own transaction, so no other write can slip between
 * the check and the write.
 *
 * Records are encoded by record-codec.ts, as every store encodes them.
 * Imports nothing else from the rest of the master but types: the worker
 * thread loads this file on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Mutation } from '../model/mutation.js';
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../model/records.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import type { Fence, StoredState } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, app_id TEXT NOT NULL, agent_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agents (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (app_id TEXT NOT NULL, version TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (app_id, version));
CREATE TABLE IF NOT EXISTS deployments (id TEXT PRIMARY KEY, app_id TEXT NOT NULL, doc TEXT NOT NULL);
`;

/** Why a data dir's store file holds no usable state (see the top of this file). */
export interface StateProblem {
  readonly file: string;
  readonly what: string;
  readonly cause?: unknown;
}

/** The SQLite file name inside the data dir. */
export const SQLITE_FILE = 'drover.db';

/** A write refused because another master began a newer term (turned into StoreFencedError by the store). */
export class TermMismatch extends Error {
  constructor(
    readonly term: number,
    readonly currentTerm: number,
  ) {
    super(`term ${term} is over (current term ${currentTerm})`);
  }
}

/** The open database, synchronous. */
export class SqliteDatabase {
  private readonly db: Database.Database;
  private readonly applyBatch: (mutations: readonly Mutation[], fence: Fence | undefined) => void;
  private readonly applyUpgrade: (mutations: readonly Mutation[], format: number) => void;
  private readonly bump: (atLeast: number, term: number | undefined) => number;

  /**
   * Opens the database in `dataDir`, creating a new one only where there is
   * no store file. Returns the problem instead for a file without state,
   * unless `forceNewCluster` (then the file is moved aside).
   */
  static open(dataDir: string, forceNewCluster: boolean): SqliteDatabase | StateProblem {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, SQLITE_FILE);
    if (fs.existsSync(file)) {
      const problem = stateProblem(file);
      if (problem !== undefined) {
        if (!forceNewCluster) return problem;
        moveAside(file);
      }
    }
    return new SqliteDatabase(file);
  }

  private constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Big batches of task rows: keep the working set in memory (64 MiB) and
    // checkpoint the WAL less often than every 1000 pages, so a burst of
    // launches is not stalled by checkpoints. Durability is unchanged: every
    // commit still syncs the WAL.
    this.db.pragma('cache_size = -65536');
    this.db.pragma('wal_autocheckpoint = 10000');
    // A second master on the same file waits for the other's write instead
    // of failing with SQLITE_BUSY; the term check then refuses the deposed one.
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const putApp = this.db.prepare('INSERT OR REPLACE INTO apps (id, doc) VALUES (?, ?)');
    const deleteApp = this.db.prepare('DELETE FROM apps WHERE id = ?');
    const putTask = this.db.prepare('INSERT OR REPLACE INTO tasks (id, app_id, agent_id, doc) VALUES (?, ?, ?, ?)');
    const deleteTask = this.db.prepare('DELETE FROM tasks WHERE id = ?');
    const putAgent = this.db.prepare('INSERT OR REPLACE INTO agents (id, doc) VALUES (?, ?)');
    const putVersion = this.db.prepare('INSERT OR REPLACE INTO versions (app_id, version, doc) VALUES (?, ?, ?)');
    const deleteVersion = this.db.prepare('DELETE FROM versions WHERE app_id = ? AND version = ?');
    const putDeployment = this.db.prepare('INSERT OR REPLACE INTO deployments (id, app_id, doc) VALUES (?, ?, ?)');
    const deleteDeployment = this.db.prepare('DELETE FROM deployments WHERE id = ?');
    const getMeta = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    const putMeta = this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    const termNow = (): number => Number(getMeta.get('term') ?? 0);
    const checkTerm = (term: number): void => {
      const current = termNow();
      if (term !== current) throw new TermMismatch(term, current);
    };
    const apply = (mutations: readonly Mutation[]): void => {
      for (const m of mutations) {
        switch (m.kind) {
          case 'putApp':
            putApp.run(m.app.spec.id, encodeRecord(m.app));
            break;
          case 'deleteApp':
            deleteApp.run(m.id);
            break;
          case 'putTask':
            putTask.run(m.task.id, m.task.appId, m.task.agentId, encodeRecord(m.task));
            break;
          case 'deleteTask':
            deleteTask.run(m.id);
            break;
          case 'putAgent':
            putAgent.run(m.agent.id, encodeRecord(m.agent));
            break;
          case 'putVersion':
            putVersion.run(m.version.appId, m.version.version, encodeRecord(m.version));
            break;
          case 'deleteVersion':
            deleteVersion.run(m.appId, m.version);
            break;
          case 'putDeployment':
            putDeployment.run(m.deployment.id, m.deployment.appId, encodeRecord(m.deployment));
            break;
          case 'deleteDeployment':
            deleteDeployment.run(m.id);
            break;
        }
      }
    };
    // IMMEDIATE: the write lock is taken before the term is read, so a
    // second master cannot begin a term between the check and the write.
    this.applyBatch = this.db.transaction((mutations: readonly Mutation[], fence: Fence | undefined) => {
      if (fence !== undefined) checkTerm(fence.term);
      apply(mutations);
    }).immediate;
    this.applyUpgrade = this.db.transaction((mutations: readonly Mutation[], format: number) => {
      apply(mutations);
      putMeta.run('format', String(format));
    }).immediate;
    this.bump = this.db.transaction((atLeast: number, term: number | undefined) => {
      if (term !== undefined) checkTerm(term);
      const next = Math.max(Number(getMeta.get('generation') ?? 0) + 1, atLeast);
      putMeta.run('generation', String(next));
      if (term === undefined) putMeta.run('term', String(next));
      return next;
    }).immediate;
  }

  /** Reads everything. */
  load(): StoredState {
    const docs = <T>(table: string): T[] => (this.db.prepare(`SELECT doc FROM ${table}`).pluck().all() as string[]).map((doc) => decodeRecord<T>(doc));
    const format = this.db.prepare("SELECT value FROM meta WHERE key = 'format'").pluck().get() as string | undefined;
    return {
      format: format !== undefined ? Number(format) : 0,
      apps: docs<AppRecord>('apps'),
      tasks: docs<TaskRecord>('tasks'),
      agents: docs<AgentRecord>('agents'),
      versions: docs<VersionRecord>('versions'),
      deployments: docs<DeploymentRecord>('deployments'),
    };
  }

  /** See Store.nextGeneration; throws TermMismatch for a term that is over. */
  nextGeneration(atLeast: number, term: number | undefined): number {
    return this.bump(atLeast, term);
  }

  /** See Store.commit; throws TermMismatch (writing nothing) for a term that is over. */
  commit(mutations: readonly Mutation[], fence: Fence | undefined): void {
    if (mutations.length > 0 || fence !== undefined) this.applyBatch(mutations, fence);
  }

  /** See Store.upgrade. */
  upgrade(mutations: readonly Mutation[], format: number): void {
    this.applyUpgrade(mutations, format);
  }

  /** Closes the file. */
  close(): void {
    this.db.close();
  }
}

/**
 * Why the existing store `file` holds no usable state, or undefined when it
 * does. A store that ever served a master has its generation in `meta`
 * (nextGeneration writes it before anything else happens); one created by a
 * master that died in between holds nothing at all and may be used.
 */
function stateProblem(file: string): StateProblem | undefined {
  const size = fs.statSync(file).size;
  if (size === 0) return { file, what: 'is empty (0 bytes)' };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') return { file, what: `is damaged (SQLite quick_check: ${String(check)})` };
    const meta = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (meta === undefined) return { file, what: `holds no Drover state (${size} bytes, no meta table)` };
    if (db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() !== undefined) return undefined;
    const tables = ['apps', 'tasks', 'agents', 'versions', 'deployments'];
    const rows = tables.some((t) => {
      const exists = db?.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
      return exists && db?.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined;
    });
    return rows ? { file, what: 'holds records but no generation (damaged)' } : undefined;
  } catch (e) {
    return { file, what: `cannot be read (${e instanceof Error ? e.message : String(e)})`, cause: e };
  } finally {
    db?.close();
  }
}

/** Renames `file` and its WAL companions to `<name>.unusable-<time>`. */
function moveAside(file: string): void {
  const suffix = `.unusable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (fs.existsSync(f)) fs.renameSync(f, `${f}${suffix}`);
  }
}
