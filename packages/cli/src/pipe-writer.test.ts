import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pipeWriter } from './pipe-writer.js';

/** A stream that keeps what it is given and fails its nth write with `code`, as a pipe whose reader left does. */
function failingStream(failAt: number, code: string): { stream: Writable; written: string[] } {
  const written: string[] = [];
  let writes = 0;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (++writes >= failAt) return callback(Object.assign(new Error(`write ${code}`), { code }));
      written.push(chunk.toString());
      callback();
    },
  });
  return { stream, written };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('pipeWriter', () => {
  it.each([
    { name: 'EPIPE (the reader closed the pipe)', code: 'EPIPE' },
    { name: 'any other write error', code: 'EIO' },
  ])('$name: reports once, drops later writes and never throws', async ({ code }) => {
    const { stream, written } = failingStream(2, code);
    const closedWith: string[] = [];
    const out = pipeWriter(stream, (c) => closedWith.push(c));
    out.write('one\n');
    out.write('two\n');
    await tick();
    out.write('three\n');
    out.write(Buffer.from('four\n'));
    await tick();
    expect(closedWith).toEqual([code]);
    expect(out.closed).toBe(true);
    expect(written).toEqual(['one\n']);
  });

  it('passes text and bytes through while the reader is there', async () => {
    const { stream, written } = failingStream(Number.POSITIVE_INFINITY, 'EPIPE');
    const closedWith: string[] = [];
    const out = pipeWriter(stream, (c) => closedWith.push(c));
    out.write('a');
    out.write(new Uint8Array([0x62]));
    await tick();
    expect(written).toEqual(['a', 'b']);
    expect(out.closed).toBe(false);
    expect(closedWith).toEqual([]);
  });
});
