import { Code } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { parseCount, parsePortNumber } from './numbers.js';

describe('parsePortNumber', () => {
  it.each([
    { name: 'a port', text: '5053', want: 5053 },
    { name: 'zero (any free port)', text: '0', want: 0 },
    { name: 'the highest port', text: '65535', want: 65535 },
  ])('parses $name', ({ text, want }) => {
    expect(parsePortNumber(text)).toBe(want);
  });

  it.each([
    { name: 'too high', text: '65536' },
    { name: 'negative', text: '-1' },
    { name: 'not a number', text: 'http' },
    { name: 'fractional', text: '80.5' },
  ])('rejects $name', ({ text }) => {
    expect(() => parsePortNumber(text)).toThrow(
      expect.objectContaining({ code: Code.InvalidArgument, rawMessage: `bad port "${text}": expected a number from 0 to 65535` }),
    );
  });
});

describe('parseCount', () => {
  it.each([
    { name: 'zero', text: '0', want: 0 },
    { name: 'a count', text: '12', want: 12 },
  ])('parses $name', ({ text, want }) => {
    expect(parseCount(text)).toBe(want);
  });

  it.each([
    { name: 'negative', text: '-2' },
    { name: 'fractional', text: '1.5' },
    { name: 'words', text: 'three' },
  ])('rejects $name', ({ text }) => {
    expect(() => parseCount(text)).toThrow(
      expect.objectContaining({ code: Code.InvalidArgument, rawMessage: `bad count "${text}": expected a whole number, 0 or more` }),
    );
  });
});
