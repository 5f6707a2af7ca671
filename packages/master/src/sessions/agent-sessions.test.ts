import { describe, expect, it } from 'vitest';
import { AgentSessions, MAX_IN_USE_RANGES } from './agent-sessions.js';

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
