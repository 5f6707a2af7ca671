import { describe, expect, it } from 'vitest';
import type { CliContext } from './cli-context.js';
import { type LogFlags, logSettings } from './serving.js';

/** Just what logSettings reads: the environment and whether stdout is a terminal. */
const ctx = (env: Record<string, string | undefined>, terminal: boolean) => ({ io: { env, tty: terminal ? { columns: 80 } : undefined } }) as unknown as CliContext;

describe('logSettings', () => {
  it.each<{ name: string; flags: LogFlags; env?: Record<string, string>; terminal: boolean; want: object }>([
    { name: 'a terminal: pretty, in color, at the default level', flags: {}, terminal: true, want: { level: 'warn', format: 'pretty', colorize: true } },
    { name: 'a file or pipe: JSON', flags: {}, terminal: false, want: { level: 'warn', format: 'json', colorize: false } },
    { name: 'JSON asked for on a terminal', flags: { logFormat: 'json' }, terminal: true, want: { format: 'json', colorize: false } },
    { name: 'pretty asked for into a pipe: no color codes', flags: { logFormat: 'pretty' }, terminal: false, want: { format: 'pretty', colorize: false } },
    { name: 'DROVER_LOG_LEVEL and DROVER_LOG_FORMAT', flags: {}, env: { DROVER_LOG_LEVEL: 'debug', DROVER_LOG_FORMAT: 'json' }, terminal: true, want: { level: 'debug', format: 'json' } },
    { name: 'flags over the environment', flags: { logLevel: 'error', logFormat: 'pretty' }, env: { DROVER_LOG_LEVEL: 'debug', DROVER_LOG_FORMAT: 'json' }, terminal: false, want: { level: 'error', format: 'pretty' } },
  ])('$name', ({ flags, env, terminal, want }) => {
    expect(logSettings(ctx(env ?? {}, terminal), flags, 'warn')).toMatchObject(want);
  });

  it.each<{ name: string; env: Record<string, string>; message: string }>([
    { name: 'level', env: { DROVER_LOG_LEVEL: 'loud' }, message: 'DROVER_LOG_LEVEL=loud is not a log level: use one of trace, debug, info, warn, error, fatal, silent' },
    { name: 'format', env: { DROVER_LOG_FORMAT: 'xml' }, message: 'DROVER_LOG_FORMAT=xml is not a log format: use pretty or json' },
  ])('refuses an unknown $name from the environment', ({ env, message }) => {
    expect(() => logSettings(ctx(env, false), {}, 'info')).toThrow(message);
  });
});
