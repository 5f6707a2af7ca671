/**
 * The embedded store: one SQLite file in the master's data dir, one row per
 * app, task and agent holding its record as JSON.
 *
 * Durability: WAL journal with synchronous=FULL, so a commit that returned
 * survives a crash or power loss. Batches are single transactions, which is
 * also what makes group commit cheap: the master hands over everything that
 * changed in one turn of the event loop at once.
 */
import fs from 'node:fs';
import path from 'node:path';
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

/** SQLite-backed Store. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly applyBatch: (mutations: readonly Mutation[]) => void;
  private readonly applyUpgrade: (mutations: readonly Mutation[], format: number) => void;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, SQLITE_FILE));
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

  async nextGeneration(): Promise<number> {
    const bump = this.db.transaction(() => {
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string } | undefined;
      const next = (row ? Number(row.value) : 0) + 1;
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
