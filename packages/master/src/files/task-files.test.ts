import { Code, DroverError } from '@drover/common';
import { FileResponse } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import type { FileAsk, FileRelay } from './file-relay.js';
import { type ByteSink, TaskFiles } from './task-files.js';

/** A relay answering READs from an in-memory file, recording every ask. */
function relayOver(file: Buffer, asks: FileAsk[], follow: Buffer[] = []): FileRelay {
  return {
    async request(_taskId: string, ask: FileAsk, onResponse: (r: FileResponse) => void) {
      asks.push(ask);
      if (ask.follow) {
        for (const data of follow) onResponse(FileResponse.fromPartial({ data, offset: 0 }));
        return;
      }
      const start = (ask.tailBytes ?? 0) > 0 ? Math.max(0, file.length - (ask.tailBytes ?? 0)) : Math.min(ask.offset ?? 0, file.length);
      const end = (ask.length ?? 0) > 0 ? Math.min(file.length, start + (ask.length ?? 0)) : file.length;
      onResponse(FileResponse.fromPartial({ data: file.subarray(start, end), offset: start, done: true }));
    },
  } as unknown as FileRelay;
}

/** A sink that records writes; `backlog` is what the test says. */
function sink(backlog = 0): ByteSink & { written: Buffer[]; drains: number } {
  const s = {
    written: [] as Buffer[],
    drains: 0,
    backlog,
    write(data: Buffer) {
      s.written.push(data);
      return true;
    },
    async drained() {
      s.drains++;
    },
  };
  return s;
}

describe('TaskFiles', () => {
  it('reads a file in windows, waiting for the client between them', async () => {
    const file = Buffer.from('0123456789abcdefghij');
    const asks: FileAsk[] = [];
    const out = sink(1);
    const end = await new TaskFiles(relayOver(file, asks), { windowBytes: 8 }).read('t', 'f', { offset: 2, length: 0 }, out, new AbortController().signal);
    expect(Buffer.concat(out.written).toString()).toBe('23456789abcdefghij');
    expect(asks.map((a) => [a.offset, a.length])).toEqual([[2, 8], [10, 8], [18, 8]]);
    expect(out.drains).toBe(2);
    expect(end).toBe(20);
  });

  it('stops a read at the length asked for', async () => {
    const asks: FileAsk[] = [];
    const out = sink();
    await new TaskFiles(relayOver(Buffer.from('0123456789'), asks), { windowBytes: 4 }).read('t', 'f', { offset: 1, length: 6 }, out, new AbortController().signal);
    expect(Buffer.concat(out.written).toString()).toBe('123456');
    expect(asks.map((a) => [a.offset, a.length])).toEqual([[1, 4], [5, 2]]);
  });

  it('follows logs from where the whole-file read ended', async () => {
    const asks: FileAsk[] = [];
    const out = sink();
    await new TaskFiles(relayOver(Buffer.from('abc\n'), asks, [Buffer.from('def\n')])).logs('t', { stderr: true, follow: true }, out, new AbortController().signal);
    expect(Buffer.concat(out.written).toString()).toBe('abc\ndef\n');
    expect(asks.at(-1)).toMatchObject({ path: 'stderr', follow: true, offset: 4 });
  });

  it.each([
    { name: 'unset: the whole file', tailLines: undefined, follow: false, printed: 'one\ntwo\nthree\n' },
    { name: 'two lines', tailLines: 2, follow: false, printed: 'two\nthree\n' },
    { name: '0: nothing (tail -n 0)', tailLines: 0, follow: false, printed: '' },
    { name: '0 with follow: only what is written from now on', tailLines: 0, follow: true, printed: 'four\n' },
  ])('tailLines $name', async ({ tailLines, follow, printed }) => {
    const asks: FileAsk[] = [];
    const out = sink();
    const file = Buffer.from('one\ntwo\nthree\n');
    await new TaskFiles(relayOver(file, asks, [Buffer.from('four\n')])).logs('t', { stderr: false, follow, tailLines }, out, new AbortController().signal);
    expect(Buffer.concat(out.written).toString()).toBe(printed);
    if (follow) expect(asks.at(-1)).toMatchObject({ follow: true, offset: file.length });
  });

  it('gives up a follow with RESOURCE_EXHAUSTED when the client falls too far behind', async () => {
    const relay = {
      async request(_t: string, ask: FileAsk, onResponse: (r: FileResponse) => void) {
        if (!ask.follow) return onResponse(FileResponse.fromPartial({ done: true }));
        onResponse(FileResponse.fromPartial({ data: Buffer.alloc(10) }));
      },
    } as unknown as FileRelay;
    const err = await new TaskFiles(relay, { maxBacklogBytes: 5 })
      .logs('t', { stderr: false, follow: true }, sink(100), new AbortController().signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(Code.ResourceExhausted);
  });
});
