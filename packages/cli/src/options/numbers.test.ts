import { Code } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { parseAmount, parseCount, parsePortNumber, parsePositiveCount } from './numbers.js';

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

describe('parseAmount', () => {
  it.each([
    { name: 'a whole number', text: '64', want: 64 },
    { name: 'a fraction', text: '0.25', want: 0.25 },
    { name: 'a fraction without leading zero', text: '.5', want: 0.5 },
    { name: 'zero', text: '0', want: 0 },
  ])('parses $name', ({ text, want }) => {
    expect(parseAmount(text)).toBe(want);
  });

  it.each([
    { name: 'negative', text: '-1' },
    { name: 'a unit', text: '1G' },
    { name: 'words', text: 'lots' },
    { name: 'empty', text: '' },
    { name: 'an exponent', text: '1e3' },
  ])('rejects $name', ({ text }) => {
    expect(() => parseAmount(text)).toThrow(
      expect.objectContaining({ code: Code.InvalidArgument, rawMessage: `bad amount "${text}": expected a number, 0 or more` }),
    );
  });
});

describe('parsePositiveCount', () => {
  it('parses 1 and more', () => {
    expect(parsePositiveCount('1')).toBe(1);
    expect(parsePositiveCount('4096')).toBe(4096);
  });

  it.each([
    { text: '0', rawMessage: 'bad count "0": expected a whole number, 1 or more' },
    { text: '-1', rawMessage: 'bad count "-1": expected a whole number, 0 or more' },
  ])('rejects $text', ({ text, rawMessage }) => {
    expect(() => parsePositiveCount(text)).toThrow(expect.objectContaining({ code: Code.InvalidArgument, rawMessage }));
  });
});
