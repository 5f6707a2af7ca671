import { describe, expect, it } from 'vitest';
import { failureLogLevel, WARN_AFTER } from './reconnect-log.js';

describe('failureLogLevel', () => {
  it('warns at the third failure in a row, then each time the count doubles', () => {
    const levels = Array.from({ length: 50 }, (_, i) => failureLogLevel(i + 1));
    expect(WARN_AFTER).toBe(3);
    expect(levels.slice(0, 2)).toEqual(['info', 'info']);
    expect(levels.flatMap((level, i) => (level === 'warn' ? [i + 1] : []))).toEqual([3, 6, 12, 24, 48]);
    expect(levels.slice(2).every((level) => level !== 'info')).toBe(true);
  });
});
