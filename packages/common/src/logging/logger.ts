/**
 * Structured logs (pino, JSON lines on stdout). One root logger per process;
 * components take a child with their name so every line says who wrote it.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Options for the root logger. */
export interface LoggerOptions {
  /** pino level; default DROVER_LOG_LEVEL or "info". */
  level?: string;
  /** Extra fields on every line (for example the component). */
  base?: Record<string, unknown>;
  /** Where the JSON lines go; default stdout. Tests collect them to look at what was logged. */
  destination?: { write(line: string): void };
}

/** Creates a root logger. Tests pass level "silent". */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? process.env.DROVER_LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
