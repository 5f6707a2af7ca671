/**
 * The embedded store: one SQLite file in the master's data dir, one row per
 * app, task and agent holding its record as JSON.
 *
 * Durability: WAL journal with synchronous=FULL, so a commit that returned
 * survives a crash or power loss. Batches are single transactions, which is
 * also what makes group commit cheap: the master hands over everything that
 * changed in one turn of the event loop at once.
 *
 * A lost store is never taken for a new cluster. Only a data dir without a
 * store file starts one; a file that exists but is empty, truncated, not a
 * database or without Drover's state refuses to open (StoreStateMissingError),
 * because a master on empty state would take every agent's tasks for
 * strangers. `forceNewCluster` moves such a file aside (never deletes it)
 * and starts afresh; the master then adopts what agents report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Code, DroverError } from '@drover/common';
import Database from 'better-sqlite3';
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../state/records.js';
import type { Mutation, Store, StoredState } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, app_id TEXT NOT NULL, agent_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agents (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (app_id TEXT NOT NULL, version TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (app_id, version));
CREATE TABLE IF NOT EXISTS deployments (id TEXT PRIMARY KEY, app_id TEXT NOT NULL, doc TEXT NOT NULL);
`;

/** The SQLite file name inside the data dir. */
export const SQLITE_FILE = 'drover.db';

/** How to open the SQLite store. */
export interface SqliteStoreOptions {
  /**
   * Start a new cluster even though the data dir holds a store file without
   * usable state: the file (and its -wal/-shm) is renamed aside with a
   * timestamp, never deleted.
   */
  readonly forceNewCluster?: boolean;
}

/** The data dir holds a store file, but no state can be read from it. */
export class StoreStateMissingError extends DroverError {
  override name = 'StoreStateMissingError';
  constructor(
    /** The store file. */
    readonly file: string,
    /** What is wrong with it. */
    readonly problem: string,
    cause?: unknown,
  ) {
    super(
      `the state store ${file} exists but ${problem}. Refusing to start a new cluster over it: agents would ` +
        'find their tasks unknown to this master. Restore the file from a backup, or pass --force-new-cluster ' +
        'to move it aside and start afresh (agents keep their tasks; this master adopts them)',
      Code.FailedPrecondition,
      { cause },
    );
  }
}

/** SQLite-backed Store. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly applyBatch: (mutations: readonly Mutation[]) => void;
  private readonly applyUpgrade: (mutations: readonly Mutation[], format: number) => void;

  /**
   * Opens the store in `dataDir`, creating a new one only where there is no
   * store file (see the top of this file). Throws StoreStateMissingError for
   * a file without state unless options.forceNewCluster.
   */
  static open(dataDir: string, options: SqliteStoreOptions = {}): SqliteStore {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, SQLITE_FILE);
    if (fs.existsSync(file)) {
      const problem = stateProblem(file);
      if (problem !== undefined) {
        if (!options.forceNewCluster) throw new StoreStateMissingError(file, problem.what, problem.cause);
        moveAside(file);
      }
    }
    return new SqliteStore(file);
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
    this.applyBatch = this.db.transaction((mutations: readonly Mutation[]) => {
      for (const m of mutations) {
        switch (m.kind) {
          case 'putApp':
            putApp.run(m.app.spec.id, JSON.stringify(m.app));
            break;
          case 'deleteApp':
            deleteApp.run(m.id);
            break;
          case 'putTask':
            putTask.run(m.task.id, m.task.appId, m.task.agentId, JSON.stringify(m.task));
            break;
          case 'deleteTask':
            deleteTask.run(m.id);
            break;
          case 'putAgent':
            putAgent.run(m.agent.id, JSON.stringify(m.agent));
            break;
          case 'putVersion':
            putVersion.run(m.version.appId, m.version.version, JSON.stringify(m.version));
            break;
          case 'deleteVersion':
            deleteVersion.run(m.appId, m.version);
            break;
          case 'putDeployment':
            putDeployment.run(m.deployment.id, m.deployment.appId, JSON.stringify(m.deployment));
            break;
          case 'deleteDeployment':
            deleteDeployment.run(m.id);
            break;
        }
      }
    });
    const putFormat = this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)");
    this.applyUpgrade = this.db.transaction((mutations: readonly Mutation[], format: number) => {
      this.applyBatch(mutations);
      putFormat.run(String(format));
    });
  }

  async load(): Promise<StoredState> {
    const docs = <T>(table: string): T[] =>
      (this.db.prepare(`SELECT doc FROM ${table}`).all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as T);
    const format = this.db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined;
    return {
      format: format ? Number(format.value) : 0,
      apps: docs<AppRecord>('apps'),
      tasks: docs<TaskRecord>('tasks'),
      agents: docs<AgentRecord>('agents'),
      versions: docs<VersionRecord>('versions'),
      deployments: docs<DeploymentRecord>('deployments'),
    };
  }

  async nextGeneration(atLeast = 0): Promise<number> {
    const bump = this.db.transaction(() => {
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string } | undefined;
      const next = Math.max((row ? Number(row.value) : 0) + 1, atLeast);
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)").run(String(next));
      return next;
    });
    return bump();
  }

  async commit(mutations: readonly Mutation[]): Promise<void> {
    if (mutations.length > 0) this.applyBatch(mutations);
  }

  async upgrade(mutations: readonly Mutation[], format: number): Promise<void> {
    this.applyUpgrade(mutations, format);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * Why the existing store `file` holds no usable state, or undefined when it
 * does. A store that ever served a master has its generation in `meta`
 * (nextGeneration writes it before anything else happens); one created by a
 * master that died in between holds nothing at all and may be used.
 */
function stateProblem(file: string): { what: string; cause?: unknown } | undefined {
  const size = fs.statSync(file).size;
  if (size === 0) return { what: 'is empty (0 bytes)' };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') return { what: `is damaged (SQLite quick_check: ${String(check)})` };
    const meta = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (meta === undefined) return { what: `holds no Drover state (${size} bytes, no meta table)` };
    if (db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() !== undefined) return undefined;
    const tables = ['apps', 'tasks', 'agents', 'versions', 'deployments'];
    const rows = tables.some((t) => {
      const exists = db?.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
      return exists && db?.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined;
    });
    return rows ? { what: 'holds records but no generation (damaged)' } : undefined;
  } catch (e) {
    return { what: `cannot be read (${DroverError.from(e).rawMessage})`, cause: e };
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
