import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LINUX_BOOT_ID_FILE, readBootId } from './boot-id.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-boot-id-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('readBootId', () => {
  it("reads the kernel's boot id, trimmed, and keeps nothing in the work dir", async () => {
    const kernel = path.join(dir, 'boot_id');
    fs.writeFileSync(kernel, '4d3c2b1a-0000-4000-8000-00000000abcd\n');
    const fallback = path.join(dir, 'boot-id.json');
    expect(await readBootId(kernel, fallback)).toBe('4d3c2b1a-0000-4000-8000-00000000abcd');
    expect(fs.existsSync(fallback)).toBe(false);
  });

  it('without the kernel file, makes an id once and keeps it in the work dir', async () => {
    const fallback = path.join(dir, 'boot-id.json');
    const first = await readBootId(path.join(dir, 'missing'), fallback);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(await readBootId(path.join(dir, 'missing'), fallback)).toBe(first);
  });

  it('a kernel file that cannot be read for another reason is an error, not a new id', async () => {
    await expect(readBootId(dir, path.join(dir, 'boot-id.json'))).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('this machine has a kernel boot id (the default path is right)', async () => {
    expect(await readBootId(LINUX_BOOT_ID_FILE, path.join(dir, 'boot-id.json'))).toBe(fs.readFileSync(LINUX_BOOT_ID_FILE, 'utf8').trim());
  });
});
