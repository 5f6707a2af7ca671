import { Code, DroverError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { addEnvVar } from './env.js';

describe('addEnvVar', () => {
  it.each([
    { name: 'the first variable', text: 'MODE=prod', previous: undefined, want: { MODE: 'prod' } },
    { name: 'a further variable', text: 'B=2', previous: { A: '1' }, want: { A: '1', B: '2' } },
    { name: 'a value holding "="', text: 'OPTS=-Dx=y', previous: undefined, want: { OPTS: '-Dx=y' } },
    { name: 'an empty value', text: 'EMPTY=', previous: undefined, want: { EMPTY: '' } },
    { name: 'spaces in the value', text: 'GREETING= hello world ', previous: undefined, want: { GREETING: ' hello world ' } },
  ])('adds $name', ({ text, previous, want }) => {
    expect(addEnvVar(text, previous)).toEqual(want);
  });

  it('does not change the variables given so far', () => {
    const previous = { A: '1' };
    addEnvVar('B=2', previous);
    expect(previous).toEqual({ A: '1' });
  });

  it.each([
    { name: 'no "="', text: 'MODE', previous: undefined, message: '"MODE" has no value: expected KEY=VALUE (KEY= for an empty value)' },
    { name: 'no name', text: '=x', previous: undefined, message: '"" is not a valid name: it must be non-empty, without spaces' },
    { name: 'a space in the name', text: 'MY VAR=1', previous: undefined, message: '"MY VAR" is not a valid name: it must be non-empty, without spaces' },
    { name: 'a name given twice', text: 'A=2', previous: { A: '1' }, message: '"A" is given twice' },
  ])('rejects $name', ({ text, previous, message }) => {
    expect(() => addEnvVar(text, previous)).toThrow(
      expect.objectContaining({ code: Code.InvalidArgument, rawMessage: `bad environment variable: ${message}` }),
    );
    expect(() => addEnvVar(text, previous)).toThrow(DroverError);
  });
});
