import { Code, DroverError, ValidationError } from '@drover/common';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './cli-context.js';
import { ExitWithCode, HintedError, reportError } from './cli-errors.js';

function captureIo(env: Record<string, string> = {}): CliIo & { err: string; out: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => void (io.out += t),
    stdoutBytes: (d: Uint8Array) => void (io.out += Buffer.from(d).toString()),
    stderr: (t: string) => void (io.err += t),
    env,
    cwd: '/',
    now: () => new Date(0),
    invokedAs: 'drover',
  };
  return io;
}

describe('reportError', () => {
  it.each([
    {
      name: 'a validation error: summary, then one violation per line',
      reason: new ValidationError(
        [
          { path: 'cpus', message: 'must be at least 0.001' },
          { path: '', message: 'an app definition must be an object' },
        ],
        'invalid app definition in web.yaml',
      ),
      code: 2,
      stderr: 'error: invalid app definition in web.yaml\n  cpus: must be at least 0.001\n  an app definition must be an object\n',
    },
    {
      name: 'not found',
      reason: new DroverError('app /nope not found', Code.NotFound),
      code: 1,
      stderr: 'error: app /nope not found\n',
    },
    {
      name: 'invalid argument from the master',
      reason: new DroverError('instances must be at most 1000', Code.InvalidArgument),
      code: 2,
      stderr: 'error: instances must be at most 1000\n',
    },
    {
      name: 'an error with a hint: the error, then the hint, and the exit code of the error',
      reason: new HintedError(new DroverError('app /web is locked by deployment d1', Code.FailedPrecondition), 'add --force to replace it'),
      code: 1,
      stderr: 'error: app /web is locked by deployment d1\nhint: add --force to replace it\n',
    },
    {
      name: 'an unexpected error, without a stack trace',
      reason: new TypeError('boom'),
      code: 1,
      stderr: 'error: boom\n',
    },
    {
      name: 'a commander usage error (already printed by commander)',
      reason: new CommanderError(1, 'commander.unknownOption', "error: unknown option '--nope'"),
      code: 2,
      stderr: '',
    },
    {
      name: 'an exit code the command chose (its output already said why)',
      reason: new ExitWithCode(137),
      code: 137,
      stderr: '',
    },
    {
      name: 'help or version output',
      reason: new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'),
      code: 0,
      stderr: '',
    },
  ])('$name', ({ reason, code, stderr }) => {
    const io = captureIo();
    expect(reportError(io, reason)).toBe(code);
    expect(io.err).toBe(stderr);
    expect(io.out).toBe('');
  });

  it('adds the stack trace when DROVER_DEBUG is set', () => {
    const io = captureIo({ DROVER_DEBUG: '1' });
    reportError(io, new Error('boom'));
    expect(io.err).toMatch(/^error: boom\n.*Error: boom\n\s+at /s);
  });
});
