import { Code, DroverError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { parseSize } from './size.js';

describe('parseSize', () => {
  it.each([
    { text: '4096b', bytes: 4096 },
    { text: '512KiB', bytes: 512 * 1024 },
    { text: '10MiB', bytes: 10 * 1024 ** 2 },
    { text: '10m', bytes: 10 * 1024 ** 2 },
    { text: '1.5GiB', bytes: 1.5 * 1024 ** 3 },
    { text: '2 TiB', bytes: 2 * 1024 ** 4 },
    { text: ' 1g ', bytes: 1024 ** 3 },
    { text: '0.5b', bytes: 0 },
  ])('parses $text', ({ text, bytes }) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['10', '10MB', '-1MiB', 'MiB', '', '1e3MiB', '99999999TiB'])('rejects "%s" naming the expected form', (text) => {
    let caught: unknown;
    try {
      parseSize(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DroverError);
    expect(caught).toMatchObject({ code: Code.InvalidArgument, rawMessage: `bad size "${text}": expected a number with a unit (B, KiB, MiB, GiB, TiB), for example 10MiB or 20GiB` });
  });
});
