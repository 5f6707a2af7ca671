import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EpochFence } from './epoch-fence.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-epoch-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('epoch fence', () => {
  it('admits equal and higher epochs, refuses lower ones, and remembers across a restart', async () => {
    const file = path.join(dir, 'epoch.json');
    const fence = await EpochFence.load(file, silentLogger());
    expect(fence.highest).toBe(0);
    expect(await fence.admit(5)).toBe(true);
    expect(await fence.admit(5)).toBe(true);
    expect(await fence.admit(4)).toBe(false);
    expect(fence.highest).toBe(5);

    const reloaded = await EpochFence.load(file, silentLogger());
    expect(reloaded.highest).toBe(5);
    expect(await reloaded.admit(3)).toBe(false);
    expect(await reloaded.admit(7)).toBe(true);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ epoch: 7 });
  });

  it('fails loudly on a corrupt epoch file instead of starting from 0', async () => {
    const file = path.join(dir, 'epoch.json');
    await fs.writeFile(file, '{"epoch": "x"}');
    await expect(EpochFence.load(file, silentLogger())).rejects.toMatchObject({ name: 'CorruptStateFileError' });
  });
});
