import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTail, STDERR_TAIL_BYTES } from './log-tail.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-tail-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readTail', () => {
  it.each([
    { name: 'a short file whole', content: 'boom\n', bytes: 4096, want: 'boom\n' },
    { name: 'only the end of a long file', content: `${'x'.repeat(5000)}the end`, bytes: 7, want: 'the end' },
    { name: 'an empty file', content: '', bytes: 10, want: '' },
  ])('reads $name', async ({ content, bytes, want }) => {
    const file = path.join(dir, 'stderr');
    fs.writeFileSync(file, content);
    expect((await readTail(file, bytes)).toString()).toBe(want);
  });

  it('is empty for a missing file', async () => {
    expect((await readTail(path.join(dir, 'nope'))).length).toBe(0);
  });

  it('reads the default 4 KiB of a long file, exactly as many bytes as asked', async () => {
    const file = path.join(dir, 'long');
    fs.writeFileSync(file, Buffer.concat([Buffer.alloc(100, 'a'), Buffer.alloc(STDERR_TAIL_BYTES, 'b')]));
    expect((await readTail(file)).equals(Buffer.alloc(STDERR_TAIL_BYTES, 'b'))).toBe(true);
  });

  it('fails for what cannot be read as a file', async () => {
    await expect(readTail(dir)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
