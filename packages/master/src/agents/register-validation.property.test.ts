/**
 * Registration against hostile agents: huge, negative, NaN and infinite
 * resources, reversed and overlapping port ranges, long and odd strings,
 * attribute names like "constructor". Through the real Registration (a
 * real core on SQLite), every Register either fails with a ValidationError
 * whose problems all have paths, recording nothing, or is recorded and then
 * listed as an Agent the proto carries unchanged: never any other error,
 * never an agent that breaks a later ListAgents.
 */
import { silentLogger, ValidationError } from '@drover/common';
import { Agent, type AgentMessage, type MasterMessage, type Register, TaskSpec, TaskStatus } from '@drover/proto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CoreHarness, startCore } from '../testing/core-harness.js';
import { AgentSession } from '../sessions/agent-session.js';

const PROTOTYPE_KEYS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

const hostileNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  fc.constantFrom(4_294_967_296, 4_294_967_295, 1e308, -1, -0, 0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
);
/** Mostly plausible, sometimes hostile: enough Registers must pass to test what is recorded. */
const amount = (max: number) => fc.oneof({ arbitrary: fc.double({ min: 0, max, noNaN: true }), weight: 12 }, { arbitrary: hostileNumber, weight: 1 });
const port = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 65535 }), weight: 12 }, { arbitrary: fc.constantFrom(0, 65536, -1, 4_294_967_295, 1.5), weight: 1 });

const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(...PROTOTYPE_KEYS, '', ' ', 'a\nb', '\ud800', '../x'),
  fc.integer({ min: 120, max: 110_000 }).map((n) => 'x'.repeat(n)),
);
const plausible = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: bad, weight: 1 });

const register: fc.Arbitrary<Register> = fc.record({
  agentId: plausible(fc.constantFrom('', 'agent-x'), hostileString),
  hostname: plausible(fc.constantFrom('node-1.test', 'a', '10.0.0.1', 'build_box'), hostileString),
  address: plausible(fc.constantFrom('', '127.0.0.1', '::1', 'node-1.test'), hostileString),
  resources: fc.option(
    fc.record({
      cpus: amount(64),
      mem: amount(65536),
      disk: amount(1e6),
      gpus: plausible(fc.integer({ min: 0, max: 8 }), hostileNumber),
      ports: fc.array(fc.record({ begin: port, end: port }), { maxLength: 3 }),
    }),
    { nil: undefined, freq: 10 },
  ),
  attributes: fc.dictionary(fc.oneof(fc.constantFrom('rack', 'zone', ...PROTOTYPE_KEYS), hostileString), plausible(fc.constantFrom('r1', 'a'), hostileString), { maxKeys: 3 }),
  tasks: fc.array(plausible(fc.constantFrom('web.1', 't'), hostileString).map((taskId) => TaskStatus.fromPartial({ uuid: 'u', taskId })), { maxLength: 2 }),
  version: plausible(fc.constantFrom('0.1.0', ''), hostileString),
  epoch: plausible(fc.nat(), hostileNumber),
  capabilities: fc.array(plausible(fc.constantFrom('docker', 'isolation:none'), hostileString), { maxLength: 3 }),
  agentSecret: fc.constant(''),
  bootId: plausible(fc.constantFrom('', '0f9a4c2e-1b7d-4e3a-9c55-2d8f6a1b3c4d'), hostileString),
  portsInUse: fc.constant([]),
  // Mostly none (most Registers must pass to test what is recorded), sometimes hostile ones.
  taskSpecs: fc.oneof(
    { arbitrary: fc.constant<TaskSpec[]>([]), weight: 3 },
    {
      arbitrary: fc.array(
        fc
          .record({
            taskId: plausible(fc.constantFrom('web.1', 't'), hostileString),
            appId: plausible(fc.constantFrom('/web', ''), hostileString),
            cpus: amount(64),
            mem: amount(65536),
            port: port,
            grace: plausible(fc.constantFrom(0, 3, 30), hostileNumber),
          })
          .map((t) =>
            TaskSpec.fromPartial({
              taskId: t.taskId,
              appId: t.appId,
              resources: { cpus: t.cpus, mem: t.mem, disk: 0, gpus: 0, ports: [] },
              ports: [{ number: t.port, name: '', protocol: 'tcp' }],
              killGracePeriodSeconds: t.grace,
            }),
          ),
        { minLength: 1, maxLength: 2 },
      ),
      weight: 1,
    },
  ),
});

/** A session on a stream that goes nowhere: registration claims the agent for it. */
function session(): AgentSession {
  const stream = { destroyed: false, writable: true, write: () => true, end: () => undefined, getPeer: () => 'test' };
  return new AgentSession(stream as unknown as ServerDuplexStream<AgentMessage, MasterMessage>, { epoch: 1 }, silentLogger());
}

let unique = 0;
/** Each run a new agent: an id registered before needs its secret, which is another test's business. */
function fresh(reg: Register): Register {
  return reg.agentId === '' ? reg : { ...reg, agentId: `${reg.agentId}-${++unique}` };
}

let h: CoreHarness;

beforeAll(async () => {
  h = await startCore();
});

afterAll(async () => {
  await h?.close();
});

describe('registration of hostile agents', () => {
  it('records a Register the proto can list unchanged, or refuses it with a ValidationError and records nothing', async () => {
    let recorded = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(register, async (reg) => {
        const before = h.core.state.allAgents().length;
        let agentId: string;
        try {
          agentId = (await h.core.registration.register(fresh(reg), { kind: 'plaintext' }, session())).agentId;
        } catch (e) {
          expect(e).toBeInstanceOf(ValidationError);
          const violations = (e as ValidationError).violations;
          expect(violations.length).toBeGreaterThan(0);
          for (const v of violations) {
            expect(v.path).not.toBe('');
            expect(v.path.length).toBeLessThan(300);
            expect(v.message.length).toBeLessThan(300);
          }
          expect(h.core.state.allAgents()).toHaveLength(before);
          refused++;
          return;
        }
        recorded++;
        const agent = h.core.agents.get(agentId);
        expect(Agent.decode(Agent.encode(agent).finish())).toEqual(agent);
        for (const value of [agent.total?.cpus, agent.total?.mem, agent.total?.disk, agent.total?.gpus]) expect(Number.isFinite(value)).toBe(true);
        // The whole listing, as a client asks for it, still encodes.
        for (const a of h.core.agents.list()) expect(() => Agent.encode(a).finish()).not.toThrow();
      }),
      { numRuns: 300 },
    );
    // Both sides exercised. About 11 % of runs are recorded (mean ~35, sd ~5.4):
    // 10 is five standard deviations away, so this never fails by chance.
    expect(recorded).toBeGreaterThanOrEqual(10);
    expect(refused).toBeGreaterThanOrEqual(10);
  });
});
