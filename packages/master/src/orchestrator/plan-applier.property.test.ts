/**
 * The plan applier's promise, checked on random clusters and random plans:
 * however stale a plan is (the stalest: made without looking at anything),
 * what it commits never overcommits an agent's resources, never gives two
 * live tasks one port, never hands out a port the machine reports in use or
 * one the agent does not offer, and never places on an agent that is not
 * ACTIVE, connected and undrained. Launch commands go out for exactly the
 * tasks it commits.
 */
import { containsPort, fits, isLive, silentLogger, subtract } from '@drover/common';
import { AppSpec } from '@drover/proto';
import type { Placement } from '@drover/scheduler';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentRecord, AppRecord, TaskRecord } from '../model/records.js';
import { AgentSessions } from '../sessions/agent-sessions.js';
import { ClusterState } from '../state/cluster-state.js';
import { TaskCommands } from '../tasks/task-commands.js';
import { MemoryStore } from '../testing/memory-store.js';
import { type RecordingSession, recordingSession } from '../testing/recording-session.js';
import { PlanApplier, type PlacementSource } from './plan-applier.js';

const PORT_BASE = 31000;

const agentArb = fc.record({
  cpus: fc.integer({ min: 1, max: 8 }),
  mem: fc.integer({ min: 64, max: 2048 }),
  ports: fc.integer({ min: 1, max: 6 }),
  condition: fc.constantFrom('ready', 'ready', 'ready', 'draining', 'lost', 'disconnected'),
  inUse: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
});

const existingArb = fc.record({ agent: fc.nat(), cpus: fc.integer({ min: 1, max: 4 }), mem: fc.integer({ min: 16, max: 1024 }), port: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }) });

const caseArb = fc.record({
  agents: fc.array(agentArb, { minLength: 1, maxLength: 4 }),
  existing: fc.array(existingArb, { maxLength: 8 }),
  app: fc.record({ cpus: fc.integer({ min: 1, max: 8 }).map((n) => n / 2), mem: fc.integer({ min: 16, max: 1024 }), ports: fc.integer({ min: 0, max: 2 }) }),
  // Agent indexes past the end name agents that do not exist; ports past the range are not offered.
  placements: fc.array(fc.record({ agent: fc.integer({ min: 0, max: 4 }), ports: fc.uniqueArray(fc.integer({ min: -1, max: 7 }), { minLength: 2, maxLength: 2 }) }), { maxLength: 12 }),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function agentRecord(i: number, a: Case['agents'][number]): AgentRecord {
  return {
    id: `agent-${i}`,
    hostname: `host-${i}`,
    address: `host-${i}`,
    total: { cpus: a.cpus, mem: a.mem, disk: 0, gpus: 0 },
    ports: [{ begin: PORT_BASE, end: PORT_BASE + a.ports - 1 }],
    attributes: {},
    state: a.condition === 'lost' ? 'LOST' : 'ACTIVE',
    version: 'test',
    registeredAt: 0,
    lastSeenAt: 0,
    ...(a.condition === 'draining' ? { drainDeadline: Date.now() + 60_000 } : {}),
  };
}

/** Builds the cluster: agents, sessions for the connected ones, and the existing tasks that fit. */
async function cluster(c: Case): Promise<{ state: ClusterState; sessions: AgentSessions; recorders: Map<string, RecordingSession> }> {
  const state = await ClusterState.load(new MemoryStore(), {
    onFatal: (e) => {
      throw e;
    },
  });
  const sessions = new AgentSessions();
  const recorders = new Map<string, RecordingSession>();
  const agents = c.agents.map((a, i) => agentRecord(i, a));
  await state.write(agents.map((agent) => ({ kind: 'putAgent', agent })));
  c.agents.forEach((a, i) => {
    const id = `agent-${i}`;
    if (a.condition !== 'disconnected' && a.condition !== 'lost') {
      const r = recordingSession(id);
      sessions.attach(id, r.session, Date.now());
      recorders.set(id, r);
    }
    sessions.recordPortsInUse(id, a.inUse.map((p) => ({ begin: PORT_BASE + p, end: PORT_BASE + p })));
  });
  const existing: TaskRecord[] = [];
  c.existing.forEach((e, n) => {
    const agent = agents[e.agent % agents.length] as AgentRecord;
    const used = existing.filter((t) => t.agentId === agent.id);
    const free = used.reduce((f, t) => subtract(f, t.resources), agent.total);
    const port = e.port !== undefined && e.port < (c.agents[e.agent % agents.length]?.ports ?? 0) ? PORT_BASE + e.port : undefined;
    const resources = { cpus: e.cpus / 2, mem: e.mem, disk: 0, gpus: 0 };
    if (!fits(resources, free) || (port !== undefined && used.some((t) => t.ports.some((p) => p.number === port)))) return;
    existing.push({
      id: `existing-${n}`,
      appId: '/other',
      appVersion: 'v',
      agentId: agent.id,
      host: agent.hostname,
      state: 'RUNNING',
      resources,
      ports: port !== undefined ? [{ number: port, name: '', protocol: 'tcp' }] : [],
      stagedAt: 0,
      updatedAt: 0,
      killRequested: false,
      killGracePeriodSeconds: 3,
    });
  });
  await state.putTasks(existing);
  // The app the plan is for: launches read its spec.
  await state.putApp(appRecord(c));
  return { state, sessions, recorders };
}

function appRecord(c: Case): AppRecord {
  const spec = AppSpec.fromPartial({
    id: '/web',
    cmd: 'serve',
    cpus: c.app.cpus,
    mem: c.app.mem,
    instances: 1,
    portDefinitions: Array.from({ length: c.app.ports }, () => ({ port: 0, protocol: 'tcp', name: '', labels: {} })),
  });
  return { spec, version: 'v1', createdAt: 0 };
}

describe('the plan applier', () => {
  it('never commits a placement that overcommits an agent, reuses a port or uses a port in use, however stale the plan', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { state, sessions, recorders } = await cluster(c);
        const app = appRecord(c);
        const placements: Placement[] = c.placements.map((p) => ({ key: '/web', agentId: `agent-${p.agent}`, hostPorts: p.ports.slice(0, c.app.ports).map((n) => PORT_BASE + n) }));
        const sources = new Map<string, PlacementSource>([['/web', { kind: 'app', app }]]);
        const applier = new PlanApplier(state, sessions, new TaskCommands(sessions), { now: () => 1 }, silentLogger());

        const accepted = await applier.apply(placements, sources);

        for (const [i, spec] of c.agents.entries()) {
          const agent = state.agent(`agent-${i}`) as AgentRecord;
          const live = state.tasksOnAgent(agent.id).filter((t) => isLive(t.state));
          const mine = accepted.filter((t) => t.agentId === agent.id);
          if (mine.length > 0) {
            expect(spec.condition).toBe('ready');
          }
          // Resources: everything live on the agent fits in what it has.
          const used = live.reduce((sum, t) => ({ cpus: sum.cpus + t.resources.cpus, mem: sum.mem + t.resources.mem, disk: 0, gpus: 0 }), { cpus: 0, mem: 0, disk: 0, gpus: 0 });
          expect(fits(used, agent.total)).toBe(true);
          // Ports: one live task per port, every new port offered and not in use by another process.
          const ports = live.flatMap((t) => t.ports.map((p) => p.number));
          expect(new Set(ports).size).toBe(ports.length);
          for (const p of mine.flatMap((t) => t.ports.map((x) => x.number))) {
            expect(containsPort(agent.ports, p)).toBe(true);
            expect(containsPort(sessions.portsInUse(agent.id), p)).toBe(false);
          }
          // A launch for each task committed here, and nothing else.
          const launched = (recorders.get(agent.id)?.commands() ?? []).flatMap((m) => (m.$case === 'launch' ? [m.value.task?.taskId] : []));
          expect(launched.sort()).toEqual(mine.map((t) => t.id).sort());
        }
        // What was committed is durable and is exactly what the state holds.
        expect(accepted.every((t) => state.task(t.id)?.state === 'STAGING')).toBe(true);
        await state.settle();
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a placement that fits, so the property above is not met by refusing everything', async () => {
    const c: Case = {
      agents: [{ cpus: 2, mem: 256, ports: 2, condition: 'ready', inUse: [] }],
      existing: [],
      app: { cpus: 1, mem: 128, ports: 1 },
      placements: [
        { agent: 0, ports: [0, 1] },
        { agent: 0, ports: [0, 1] },
        { agent: 0, ports: [1, 0] },
      ],
    };
    const { state, sessions } = await cluster(c);
    const app = appRecord(c);
    const applier = new PlanApplier(state, sessions, new TaskCommands(sessions), { now: () => 1 }, silentLogger());
    const accepted = await applier.apply(
      c.placements.map((p) => ({ key: '/web', agentId: 'agent-0', hostPorts: [PORT_BASE + (p.ports[0] as number)] })),
      new Map([['/web', { kind: 'app', app }]]),
    );
    // The second asks for port 31000 again and is dropped; the third takes 31001 and the last of the CPUs.
    expect(accepted.map((t) => t.ports.map((p) => p.number))).toEqual([[31000], [31001]]);
  });
});
