import { describe, expect, it } from 'vitest';
import { recordingSession } from '../testing/recording-session.js';
import { AgentSessions, MAX_IN_USE_RANGES } from './agent-sessions.js';

describe('last seen', () => {
  // Registration writes the agent ACTIVE between claim and attach: a
  // liveness check in that window once found an ACTIVE agent never seen
  // since the master started and declared it LOST for good, connected.
  it('a registering agent counts as heard from when it is claimed, before it is attached', () => {
    const sessions = new AgentSessions();
    expect(sessions.lastSeenAt('a')).toBeUndefined();
    const { session } = recordingSession('ipv4:127.0.0.1:1');
    sessions.claim('a', session, 5000);
    expect(sessions.lastSeenAt('a')).toBe(5000);
    sessions.attach('a', session, 5020);
    expect(sessions.lastSeenAt('a')).toBe(5020);
  });
});

describe('ports in use an agent reports', () => {
  it('keeps the ranges that are ports and drops the rest (usage samples are not validated as Register is)', () => {
    const sessions = new AgentSessions();
    sessions.recordUsage('a', {
      cpusUsed: 0,
      memUsed: 0,
      memTotal: 0,
      tasksRunning: 0,
      portsInUse: [
        { begin: 31000, end: 31002 },
        { begin: 32000, end: 31000 },
        { begin: 0, end: 10 },
        { begin: 65535, end: 65536 },
        { begin: 1.5, end: 2 },
        { begin: 33000, end: 33000 },
      ],
    });
    expect(sessions.portsInUse('a')).toEqual([
      { begin: 31000, end: 31002 },
      { begin: 33000, end: 33000 },
    ]);
    expect(sessions.portsInUse('other')).toEqual([]);
  });

  it('holds at most MAX_IN_USE_RANGES ranges per agent', () => {
    const sessions = new AgentSessions();
    const many = Array.from({ length: MAX_IN_USE_RANGES + 10 }, (_, i) => ({ begin: 1 + i, end: 1 + i }));
    sessions.recordPortsInUse('a', many);
    expect(sessions.portsInUse('a')).toHaveLength(MAX_IN_USE_RANGES);
  });
});
