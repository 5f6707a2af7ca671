import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from './logger.js';

/** Logs one line through a logger made with `options` and returns what was written. */
async function logLine(options: LoggerOptions): Promise<string> {
  let out = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: 'info', ...options, destination });
  logger.child({ component: 'master-session' }).warn({ master: '10.0.0.1:5053', attempts: 3 }, 'cannot reach the master');
  logger.debug('below the level');
  await new Promise((r) => setImmediate(r));
  return out;
}

describe('createLogger', () => {
  it('writes JSON lines by default', async () => {
    const line = JSON.parse(await logLine({}));
    expect(line).toMatchObject({ level: 40, component: 'master-session', master: '10.0.0.1:5053', attempts: 3, msg: 'cannot reach the master' });
    expect(line.pid).toBe(process.pid);
  });

  it('writes one readable line in the pretty format: time, level, component, message, fields', async () => {
    expect(await logLine({ format: 'pretty' })).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: master-session: cannot reach the master \{"master":"10\.0\.0\.1:5053","attempts":3\}\n$/);
  });

  it('colors the pretty format only when asked', async () => {
    expect(await logLine({ format: 'pretty', colorize: true })).toContain('\u001b[');
    expect(await logLine({ format: 'pretty' })).not.toContain('\u001b[');
  });
});
