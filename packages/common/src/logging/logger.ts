/**
 * Structured logs (pino). One root logger per process; components take a
 * child with their name so every line says who wrote it.
 *
 * Two formats of the same lines: JSON, one object a line, for log shippers
 * and anything that is not a person (the default); and "pretty", one
 * readable line each (time, level, component, message, fields), for someone
 * watching a terminal. The pretty stream runs in this thread and writes
 * synchronously, so a line is out before a crash or exit that follows it.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

/** pino-pretty (and its dependencies) load only for the pretty format: JSON logging never needs them. */
const requireCjs = createRequire(import.meta.url);

export type { Logger };

/** What log lines look like: JSON lines, or readable lines for a terminal. */
export type LogFormat = 'json' | 'pretty';

/** Every log format, for flags and checks. */
export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/** Every level a logger can be set to, most verbose first; "silent" logs nothing. */
export const LOG_LEVELS: readonly (Level | 'silent')[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Options for the root logger. */
export interface LoggerOptions {
  /** pino level; default DROVER_LOG_LEVEL or "info". */
  level?: string;
  /** Extra fields on every line (for example the component). */
  base?: Record<string, unknown>;
  /** Line format; default json. */
  format?: LogFormat;
  /** Colors in the pretty format (for a terminal); default false. */
  colorize?: boolean;
  /** Where lines go; default standard output. */
  destination?: DestinationStream;
}

/** Creates a root logger. Tests pass level "silent". */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? process.env.DROVER_LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.format === 'pretty') return pino(settings, prettyStream(options));
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** "[12:00:01.250] WARN: master-session: disconnected from master {"why":"..."}" */
function prettyStream(options: LoggerOptions): DestinationStream {
  const pinoPretty = requireCjs('pino-pretty') as typeof PinoPretty;
  return pinoPretty({
    destination: options.destination ?? 1,
    sync: true,
    colorize: options.colorize ?? false,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,component',
    messageFormat: '{if component}{component}: {end}{msg}',
  });
}
