/** renameFile and unlinkFile on a real directory: they do what the sync calls did, errors (errno codes) included. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isErrno, removeFileDurably, writeFileAtomic } from './atomic-file.js';
import { renameFile, unlinkFile } from './thread-pool-fs.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-pool-fs-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('thread-pool fs calls', () => {
  it('renames over an existing file, and unlinks', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await fs.writeFile(a, 'new');
    await fs.writeFile(b, 'old');
    await renameFile(a, b);
    expect(await fs.readFile(b, 'utf8')).toBe('new');
    expect(await fs.readdir(dir)).toEqual(['b']);
    await unlinkFile(b);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('rejects with the errno of what went wrong', async () => {
    const missing = path.join(dir, 'missing');
    const renamed = await renameFile(missing, path.join(dir, 'x')).catch((e: unknown) => e);
    const unlinked = await unlinkFile(missing).catch((e: unknown) => e);
    expect(isErrno(renamed, 'ENOENT')).toBe(true);
    expect(isErrno(unlinked, 'ENOENT')).toBe(true);
  });

  it('leave writeFileAtomic and removeFileDurably as they were: the file is there once written, gone once removed, no temporary left', async () => {
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '1');
    await writeFileAtomic(file, '2', { durable: false });
    expect(await fs.readFile(file, 'utf8')).toBe('2');
    expect(await fs.readdir(dir)).toEqual(['state.json']);
    await removeFileDurably(file);
    await removeFileDurably(file); // a missing file is no error
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('a rename that fails leaves no temporary file behind', async () => {
    // A directory cannot be replaced by a file: the rename fails after the temporary was written.
    const target = path.join(dir, 'taken');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), '');
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(await fs.readdir(dir)).toEqual(['taken']);
  });
});
