/**
 * The SQLite store's worker thread: owns the database connection and runs
 * every request to completion, one at a time in arrival order, so the
 * master's event loop never waits for SQLite or fsync (better-sqlite3 is
 * synchronous; the cluster benchmark measured its transactions at a quarter
 * of the master's wall time when they ran on the event loop).
 */
import { parentPort } from 'node:worker_threads';
import { SqliteDatabase, TermMismatch } from './sqlite-database.js';
import type { SqliteEnvelope, SqliteFailure, SqliteReply } from './sqlite-protocol.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-worker.ts runs only as a worker thread');

let db: SqliteDatabase | undefined;

function run(request: SqliteEnvelope): unknown {
  if (request.op === 'open') {
    const opened = SqliteDatabase.open(request.dataDir, request.forceNewCluster);
    if (!(opened instanceof SqliteDatabase)) {
      throw { kind: 'state-missing', file: opened.file, what: opened.what, ...(opened.cause !== undefined ? { cause: String(opened.cause) } : {}) } satisfies SqliteFailure;
    }
    db = opened;
    return undefined;
  }
  if (db === undefined) throw new Error(`${request.op} before open`);
  switch (request.op) {
    case 'load':
      return db.load();
    case 'nextGeneration':
      return db.nextGeneration(request.atLeast, request.term);
    case 'commit':
      db.commit(request.mutations, request.fence);
      return undefined;
    case 'upgrade':
      db.upgrade(request.mutations, request.format);
      return undefined;
    case 'close':
      db.close();
      db = undefined;
      return undefined;
  }
}

function failureOf(error: unknown): SqliteFailure {
  if (error instanceof TermMismatch) return { kind: 'fenced', term: error.term, currentTerm: error.currentTerm };
  if (typeof error === 'object' && error !== null && 'kind' in error) return error as SqliteFailure;
  if (error instanceof Error) return { kind: 'error', message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) };
  return { kind: 'error', message: String(error) };
}

port.on('message', (request: SqliteEnvelope) => {
  let reply: SqliteReply;
  try {
    reply = { id: request.id, ok: true, value: run(request) };
  } catch (error) {
    reply = { id: request.id, ok: false, failure: failureOf(error) };
  }
  port.postMessage(reply);
});
