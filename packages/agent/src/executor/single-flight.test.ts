import { describe, expect, it } from 'vitest';
import { SingleFlight } from './single-flight.js';

describe('SingleFlight', () => {
  it('joins calls for a key while one runs, and starts anew once it settled', async () => {
    const flight = new SingleFlight<number>();
    let starts = 0;
    let release: (n: number) => void = () => undefined;
    const start = () => {
      starts += 1;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const first = flight.run('a', start);
    const second = flight.run('a', start);
    expect(second).toBe(first);
    expect(starts).toBe(1);
    release(7);
    await expect(first).resolves.toBe(7);
    const third = flight.run('a', start);
    expect(starts).toBe(2);
    release(8);
    await expect(third).resolves.toBe(8);
  });

  it('keeps keys apart and forgets a failed call', async () => {
    const flight = new SingleFlight<string>();
    const failed = flight.run('a', () => Promise.reject(new Error('no')));
    const other = flight.run('b', () => Promise.resolve('b'));
    await expect(failed).rejects.toThrow('no');
    await expect(other).resolves.toBe('b');
    await expect(flight.run('a', () => Promise.resolve('again'))).resolves.toBe('again');
  });
});
