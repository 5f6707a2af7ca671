import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TaskExit } from './executor.js';
import { type KillState, killWithDeadline } from './kill-deadline.js';

const EXIT: TaskExit = { kind: 'exited', exitCode: 0 };

/** A task, and a log of the steps the kill rule took on it. */
function task(watching = true) {
  const calls: string[] = [];
  const w: KillState = { ended: false, exit: Promise.resolve(EXIT) };
  const steps = { terminate: (grace: number) => calls.push(`terminate ${grace}`), force: () => calls.push('force'), watching };
  return { w, calls, kill: (graceMs: number) => killWithDeadline(w, graceMs, steps) };
}

describe('killWithDeadline', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('asks first, forces at the deadline, and resolves with the exit', async () => {
    const t = task();
    await expect(t.kill(1000)).resolves.toBe(EXIT);
    expect(t.calls).toEqual(['terminate 1000']);
    vi.advanceTimersByTime(999);
    expect(t.calls).toEqual(['terminate 1000']);
    vi.advanceTimersByTime(1);
    expect(t.calls).toEqual(['terminate 1000', 'force']);
  });

  it('lets a later kill shorten the grace period but never lengthen it, and asks only once', () => {
    const t = task();
    void t.kill(5000);
    vi.advanceTimersByTime(1000);
    void t.kill(10_000);
    vi.advanceTimersByTime(3999);
    expect(t.calls).toEqual(['terminate 5000']);
    void t.kill(0);
    vi.advanceTimersByTime(0);
    expect(t.calls).toEqual(['terminate 5000', 'force']);
    vi.advanceTimersByTime(10_000);
    expect(t.calls).toEqual(['terminate 5000', 'force']);
  });

  it('does nothing to an ended task, and does not force one that ends within its grace', () => {
    const ended = task();
    ended.w.ended = true;
    void ended.kill(0);
    expect(ended.calls).toEqual([]);

    const polite = task();
    void polite.kill(100);
    polite.w.ended = true;
    vi.advanceTimersByTime(1000);
    expect(polite.calls).toEqual(['terminate 100']);
  });

  it('treats a negative grace as none, and arms no timer once the executor stopped watching', () => {
    const negative = task();
    void negative.kill(-5);
    vi.advanceTimersByTime(0);
    expect(negative.calls).toEqual(['terminate 0', 'force']);

    const closed = task(false);
    void closed.kill(0);
    vi.advanceTimersByTime(1000);
    expect(closed.calls).toEqual(['terminate 0']);
  });
});

describe('killWithDeadline with a grace period past what a timer holds', () => {
  it('does not force the task after 1 ms (Node turns a delay over 2^31-1 ms into 1 ms)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const t = task();
    try {
      void t.kill(3_000_000_000);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      clearTimeout(t.w.killTimer);
      process.off('warning', onWarning);
    }
    expect(t.calls).toEqual(['terminate 3000000000']);
    expect(warnings).toEqual([]);
  });
});
