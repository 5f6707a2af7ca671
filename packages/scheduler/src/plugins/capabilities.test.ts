import { describe, expect, it } from 'vitest';
import { schedule } from '../schedule.js';
import { agent, request, snapshot } from '../testing/builders.js';

describe('capabilities', () => {
  it.each([
    { name: 'nothing required: every agent', required: [], placedOn: ['docker', 'plain'] },
    { name: 'docker required: only agents with it', required: ['docker'], placedOn: ['docker'] },
  ])('$name', ({ required, placedOn }) => {
    const snap = snapshot([agent('plain', { total: { cpus: 1, mem: 100 } }), { ...agent('docker', { total: { cpus: 1, mem: 100 } }), capabilities: ['docker'] }]);
    const plan = schedule(snap, [{ ...request('/c', 2, { resources: { cpus: 1, mem: 1 } }), requiredCapabilities: required }]);
    expect(plan.placements.map((p) => p.agentId).sort()).toEqual(placedOn);
  });

  it('explains the agents that lack it', () => {
    const plan = schedule(snapshot([agent('a'), agent('b')]), [{ ...request('/c', 1), requiredCapabilities: ['docker'] }]);
    expect(plan.unplaced[0]?.explanation.summary).toBe('2 agents: no docker');
  });
});
