/** The lease clock counts from when a renewal was sent, never from when its answer came. */
import { describe, expect, it } from 'vitest';
import { LeaseClock } from './lease-clock.js';

type Step = readonly ['fired' | 'answered' | 'restarted', number];

describe('LeaseClock', () => {
  it.each<{ name: string; steps: Step[]; expiresAt: number }>([
    { name: 'a fresh lease lives a TTL from the grant request', steps: [], expiresAt: 3000 },
    { name: 'an answered keepalive renews from when it was sent', steps: [['fired', 1500], ['answered', 2900]], expiresAt: 3500 },
    { name: 'an unanswered keepalive renews nothing', steps: [['fired', 1500]], expiresAt: 3000 },
    { name: 'answers match the oldest request', steps: [['fired', 1000], ['fired', 1600], ['answered', 2000]], expiresAt: 3000 },
    { name: 'both answered: the later request counts', steps: [['fired', 1000], ['fired', 1600], ['answered', 2000], ['answered', 2100]], expiresAt: 3600 },
    { name: 'requests on a dropped stream are never matched', steps: [['fired', 1000], ['restarted', 1200], ['fired', 1800], ['answered', 1900]], expiresAt: 3800 },
    { name: 'an answer without a request renews nothing', steps: [['answered', 2000]], expiresAt: 3000 },
  ])('$name', ({ steps, expiresAt }) => {
    let now = 1000;
    const clock = new LeaseClock(2000, 1000, () => now);
    for (const [event, at] of steps) {
      now = at;
      clock[event]();
    }
    expect(clock.expiresAt).toBe(expiresAt);
  });
});
