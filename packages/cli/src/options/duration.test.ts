import { Code, DroverError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    { name: 'milliseconds', text: '500ms', ms: 500 },
    { name: 'seconds', text: '10s', ms: 10_000 },
    { name: 'minutes', text: '5m', ms: 300_000 },
    { name: 'hours', text: '1h', ms: 3_600_000 },
    { name: 'a sum', text: '1m30s', ms: 90_000 },
    { name: 'a fraction', text: '1.5s', ms: 1_500 },
    { name: 'zero', text: '0s', ms: 0 },
    { name: 'surrounding spaces', text: ' 10s ', ms: 10_000 },
  ])('parses $name ($text)', ({ text, ms }) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    { name: 'a bare number', text: '10' },
    { name: 'an unknown unit', text: '10x' },
    { name: 'a negative value', text: '-5s' },
    { name: 'empty text', text: '' },
    { name: 'a unit alone', text: 's' },
    { name: 'spaces inside', text: '1m 30s' },
  ])('rejects $name with a message showing the expected form', ({ text }) => {
    let caught: unknown;
    try {
      parseDuration(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DroverError);
    expect((caught as DroverError).code).toBe(Code.InvalidArgument);
    expect((caught as DroverError).rawMessage).toBe(
      `bad duration "${text}": expected a number with a unit (ms, s, m, h), for example 500ms, 10s, 5m or 1m30s`,
    );
  });
});
