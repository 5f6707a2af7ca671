import { Code, DroverError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { parseAttributes } from './attributes.js';

describe('parseAttributes', () => {
  it.each([
    { name: 'one pair', text: 'rack=r1', want: { rack: 'r1' } },
    { name: 'several pairs', text: 'rack=r1,zone=eu-west-1a', want: { rack: 'r1', zone: 'eu-west-1a' } },
    { name: 'a value holding "="', text: 'role=a=b', want: { role: 'a=b' } },
    { name: 'spaces and empty items', text: ' rack = r1 ,, ', want: { rack: 'r1' } },
    { name: 'nothing', text: '', want: {} },
  ])('parses $name', ({ text, want }) => {
    expect(parseAttributes(text)).toEqual(want);
  });

  it.each([
    { name: 'a key without value', text: 'rack', message: '"rack" has no value: expected key=value' },
    { name: 'an empty value', text: 'rack=', message: '"rack=" has no value: expected key=value' },
    { name: 'a bad key', text: 'my rack=1', message: '"my rack" is not a valid attribute name: use letters, digits, ".", "_" and "-"' },
    { name: 'an empty key', text: '=1', message: '"" is not a valid attribute name: use letters, digits, ".", "_" and "-"' },
    { name: 'a repeated key', text: 'rack=1,rack=2', message: '"rack" is given twice' },
  ])('rejects $name', ({ text, message }) => {
    let caught: unknown;
    try {
      parseAttributes(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DroverError);
    expect((caught as DroverError).code).toBe(Code.InvalidArgument);
    expect((caught as DroverError).rawMessage).toBe(`bad attributes: ${message}`);
  });
});
