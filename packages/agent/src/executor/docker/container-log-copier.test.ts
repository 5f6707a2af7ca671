import { describe, expect, it } from 'vitest';
import { FrameDecoder, parseTimestamp, sinceParameter, splitTimestamp } from './container-log-copier.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('container log frames', () => {
  it('decodes frames split anywhere across chunks', () => {
    const all = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'out two')]);
    for (const cut of [1, 7, 8, 9, 16, 17, all.length - 1]) {
      const d = new FrameDecoder();
      const frames = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
      expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
        [1, 'out one\n'],
        [2, 'err\n'],
        [1, 'out two'],
      ]);
    }
  });

  it.each([
    { name: 'nanoseconds', text: '2025-01-02T03:04:05.123456789Z', ns: 1735787045123456789n },
    { name: 'fewer digits', text: '2025-01-02T03:04:05.5Z', ns: 1735787045500000000n },
    { name: 'no fraction', text: '2025-01-02T03:04:05Z', ns: 1735787045000000000n },
    { name: 'an offset', text: '2025-01-02T04:04:05.000000001+01:00', ns: 1735787045000000001n },
    { name: 'garbage', text: 'yesterday', ns: undefined },
  ])('parses a timestamp with $name', ({ text, ns }) => {
    expect(parseTimestamp(text)).toBe(ns);
  });

  it('splits a message from its timestamp, keeping the text byte for byte', () => {
    const split = splitTimestamp(Buffer.from('2025-01-02T03:04:05.000000007Z  two spaces\n'));
    expect(split?.ns).toBe(1735787045000000007n);
    expect(split?.text.toString()).toBe(' two spaces\n');
    expect(splitTimestamp(Buffer.from('no timestamp here'))).toBeUndefined();
  });

  it("writes Docker's since as seconds.nanoseconds", () => {
    expect(sinceParameter(1735787045000000007n)).toBe('1735787045.000000007');
  });
});
