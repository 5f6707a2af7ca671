/**
 * A logger that keeps what is logged, for tests that assert on warnings.
 * Children log into the same list. Not exported from the package index.
 */
import type { Logger } from '@drover/common';

/** One captured log call. */
export interface LogEntry {
  /** pino level name. */
  readonly level: string;
  /** The message. */
  readonly msg: string;
  /** Bindings of the logger and the call's object, merged. */
  readonly fields: Record<string, unknown>;
}

/** A Logger (enough of pino's for the agent) and the entries it received. */
export function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (objOrMsg: unknown, msg?: string): void => {
        const fields = typeof objOrMsg === 'object' && objOrMsg !== null ? (objOrMsg as Record<string, unknown>) : {};
        const text = typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '');
        entries.push({ level, msg: text, fields: { ...bindings, ...fields } });
      };
    const logger = {
      level: 'trace',
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      fatal: at('fatal'),
      silent: () => undefined,
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
      isLevelEnabled: () => true,
    };
    return logger as unknown as Logger;
  };
  return { logger: make({}), entries };
}
