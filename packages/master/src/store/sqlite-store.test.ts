import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MasterEpoch } from '../leadership/master-epoch.js';
import { SQLITE_FILE, SqliteStore, StoreStateMissingError } from './sqlite-store.js';

let dir: string;
const file = () => path.join(dir, SQLITE_FILE);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-sqlite-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('opening the SQLite store', () => {
  it('starts a new cluster in a data dir without a store file, and reopens it with its generation', async () => {
    const first = await SqliteStore.open(path.join(dir, 'new'));
    expect(await first.nextGeneration()).toBe(1);
    await first.close();
    const again = await SqliteStore.open(path.join(dir, 'new'));
    expect(await again.nextGeneration()).toBe(2);
    await again.close();
  });

  it('uses a store file that a master created but died before using (no generation, no records)', async () => {
    await (await SqliteStore.open(dir)).close();
    const store = await SqliteStore.open(dir);
    expect(await store.nextGeneration()).toBe(1);
    await store.close();
  });

  it.each([
    { name: 'an empty file', make: () => fs.writeFileSync(file(), ''), problem: 'is empty (0 bytes)' },
    { name: 'a file that is not a database', make: () => fs.writeFileSync(file(), 'not sqlite at all, '.repeat(300)), problem: 'cannot be read' },
    {
      name: 'another program’s database',
      make: () => {
        const db = new Database(file());
        db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
        db.close();
      },
      problem: 'holds no Drover state',
    },
    {
      name: 'records without a generation',
      make: () => {
        const db = new Database(file());
        db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE apps (id TEXT PRIMARY KEY, doc TEXT NOT NULL); INSERT INTO apps VALUES ('/a', '{}')");
        db.close();
      },
      problem: 'holds records but no generation',
    },
  ])('refuses $name, leaving it as it was', async ({ make, problem }) => {
    make();
    const before = fs.readFileSync(file());
    await expect(SqliteStore.open(dir)).rejects.toThrow(StoreStateMissingError);
    await expect(SqliteStore.open(dir)).rejects.toThrow(problem);
    expect(fs.readFileSync(file()).equals(before)).toBe(true);
  });

  it('moves an unusable file aside when forced, and starts afresh', async () => {
    fs.writeFileSync(file(), '');
    fs.writeFileSync(`${file()}-wal`, 'wal');
    const store = await SqliteStore.open(dir, { forceNewCluster: true });
    expect(await store.nextGeneration()).toBe(1);
    await store.close();
    const aside = fs.readdirSync(dir).filter((f) => f.includes('.unusable-')).sort();
    expect(aside).toEqual([expect.stringMatching(/^drover\.db-wal\.unusable-/), expect.stringMatching(/^drover\.db\.unusable-/)]);
    expect(fs.readFileSync(path.join(dir, aside[0] as string), 'utf8')).toBe('wal');
  });
});

describe('generations and the master epoch', () => {
  it('never goes back: nextGeneration(atLeast) jumps ahead, and a later call goes on from there', async () => {
    const store = await SqliteStore.open(dir);
    expect(await store.nextGeneration()).toBe(1);
    expect(await store.nextGeneration(10)).toBe(10);
    expect(await store.nextGeneration(3)).toBe(11);
    await store.close();
  });

  it('raises the epoch durably above what an agent saw, once for concurrent raises', async () => {
    const store = await SqliteStore.open(dir);
    const epoch = await MasterEpoch.start(store);
    expect(epoch.current).toBe(1);
    expect(epoch.atStart).toBe(1);
    const raised = await Promise.all([epoch.raiseAbove(7), epoch.raiseAbove(5), epoch.raiseAbove(7)]);
    expect(raised).toEqual([8, 8, 8]);
    expect(await epoch.raiseAbove(2)).toBe(8);
    expect(epoch.atStart).toBe(1);
    await store.close();
    const reopened = await SqliteStore.open(dir);
    expect((await MasterEpoch.start(reopened)).current).toBe(9);
    await reopened.close();
  });
});
