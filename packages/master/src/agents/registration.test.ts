/**
 * Registration on its own: the table at the top of registration.ts, row by
 * row (what the agent reports against what the master holds), and what is
 * recorded, sent after Registered, adopted, or refused. Identity over real
 * gRPC is registration-identity.test.ts; the Register's bounds are
 * register-validation*.test.ts.
 */
import { type Register, type TaskSpec, TaskState, TaskStatus } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import type { Mutation } from '../model/mutation.js';
import type { TaskRecord } from '../model/records.js';
import { agentRecord, appRecord, taskRecord } from '../store/conformance/store-conformance.js';
import { agentKit } from '../testing/agent-kit.js';
import { FakeAgent } from '../testing/fake-agent.js';
import { recordingSession } from '../testing/recording-session.js';

const AGENT = 'agent-a';

function reported(taskId: string, state: TaskState): TaskStatus {
  return TaskStatus.fromPartial({ uuid: `${taskId}-${state}`, taskId, state, timestamp: new Date(999_000), pid: 9 });
}

function spec(taskId: string): TaskSpec {
  return { taskId, appId: '/web', appVersion: 'v1', cmd: 'serve', args: [], env: {}, resources: { cpus: 0.1, mem: 16, disk: 0, gpus: 0, ports: [] }, ports: [], killGracePeriodSeconds: 3, labels: {}, healthChecks: [], fetch: [], user: '' };
}

/** A master that knew agent-a (and /web) before it restarted, holding `tasks`. */
async function masterWith(tasks: TaskRecord[], agentExtra = {}) {
  const stored: Mutation[] = [{ kind: 'putAgent', agent: agentRecord(AGENT, agentExtra) }, { kind: 'putApp', app: appRecord('/web') }, ...tasks.map((task) => ({ kind: 'putTask', task }) as const)];
  return agentKit(stored);
}

async function register(kit: Awaited<ReturnType<typeof agentKit>>, overrides: Partial<Register>) {
  const agent = recordingSession(AGENT);
  const reg = FakeAgent.registration({ agentId: AGENT, hostname: 'agent-a.example', ...overrides });
  const outcome = await kit.registration.register(reg, { kind: 'plaintext' }, agent.session);
  kit.sessions.attach(outcome.agentId, agent.session, kit.now);
  kit.registration.followUp(outcome);
  const kills = agent.commands().flatMap((c) => (c.$case === 'kill' ? [`${c.value.taskId}: ${c.value.message}`] : []));
  return { outcome, kills };
}

describe('Registration: what the agent reports against what the master holds', () => {
  it.each<{ name: string; held: TaskRecord[]; reports: TaskStatus[]; specs?: TaskSpec[]; expected: { states: Record<string, string | undefined>; kills: string[]; adopted?: string[] } }>([
    {
      name: 'both have it live: the reported status is applied',
      held: [taskRecord('t1', { agentId: AGENT, state: 'STARTING', startedAt: undefined })],
      reports: [reported('t1', TaskState.TASK_STATE_RUNNING)],
      expected: { states: { t1: 'RUNNING' }, kills: [] },
    },
    {
      name: 'both have it live and a kill was asked for: the kill is sent again',
      held: [taskRecord('t1', { agentId: AGENT, killRequested: true, message: 'scaled down' })],
      reports: [reported('t1', TaskState.TASK_STATE_RUNNING)],
      expected: { states: { t1: 'RUNNING' }, kills: ['t1: scaled down'] },
    },
    {
      name: 'the agent runs it, the master gave it up: killed on the agent',
      held: [taskRecord('t1', { agentId: AGENT, state: 'LOST' })],
      reports: [reported('t1', TaskState.TASK_STATE_RUNNING)],
      expected: { states: { t1: 'LOST' }, kills: ['t1: killed as orphan: the master already considers it LOST'] },
    },
    {
      name: 'the agent runs one the master never placed (its state is whole): killed on the agent',
      held: [],
      reports: [reported('stranger', TaskState.TASK_STATE_RUNNING)],
      specs: [spec('stranger')],
      expected: { states: { stranger: undefined }, kills: ['stranger: killed as orphan: the master does not know this task'] },
    },
    {
      name: 'the master has it live, the agent does not report it: LOST',
      held: [taskRecord('t1', { agentId: AGENT })],
      reports: [],
      expected: { states: { t1: 'LOST' }, kills: [] },
    },
    {
      name: 'the master has it live on another agent: left alone',
      held: [taskRecord('t1', { agentId: 'agent-b' })],
      reports: [],
      expected: { states: { t1: 'RUNNING' }, kills: [] },
    },
    {
      name: 'the agent reports it ended: the end is recorded',
      held: [taskRecord('t1', { agentId: AGENT })],
      reports: [reported('t1', TaskState.TASK_STATE_FAILED)],
      expected: { states: { t1: 'FAILED' }, kills: [] },
    },
  ])('$name', async ({ held, reports, specs, expected }) => {
    const kit = await masterWith(held);
    const { outcome, kills } = await register(kit, { tasks: reports, taskSpecs: specs ?? [], epoch: kit.leadership.term - 1 });
    expect(Object.fromEntries(Object.keys(expected.states).map((id) => [id, kit.state.task(id)?.state]))).toEqual(expected.states);
    expect(kills).toEqual(expected.kills);
    expect(outcome.adopted.map((t) => t.id)).toEqual(expected.adopted ?? []);
    // All of it durable before Registered could be sent.
    for (const [id, state] of Object.entries(expected.states)) expect(JSON.parse(kit.data.records.get(`task:${id}`) ?? 'null')?.state).toBe(state);
  });

  it('records the agent ACTIVE, keeps a drain across the re-registration, and issues a secret', async () => {
    const kit = await masterWith([], { state: 'LOST', drainDeadline: 5_000_000, registeredAt: 7 });
    const { outcome } = await register(kit, { attributes: { rack: 'r9' } });
    expect(kit.state.agent(AGENT)).toMatchObject({ state: 'ACTIVE', drainDeadline: 5_000_000, registeredAt: 7, lastSeenAt: kit.now, attributes: { rack: 'r9' } });
    expect(outcome.secret).toEqual(expect.any(String));
    expect(kit.state.agent(AGENT)?.secretHash).toEqual(expect.any(String));
  });

  it('a failure reported at registration counts against the app, as a status would', async () => {
    const kit = await masterWith([taskRecord('t1', { agentId: AGENT, appVersion: appRecord('/web').version })]);
    await register(kit, { tasks: [TaskStatus.fromPartial({ ...reported('t1', TaskState.TASK_STATE_FAILED), exitCode: 2, message: 'exited with code 2' })] });
    expect(kit.state.app('/web')?.lastTaskFailure).toMatchObject({ taskId: 't1', exitCode: 2 });
  });
});

describe('Registration when the master’s state is missing', () => {
  it('adopts what an agent the master never recorded runs, and raises the epoch past the agent’s', async () => {
    const kit = await agentKit();
    const seen = kit.leadership.epoch + 5;
    const { outcome, kills } = await register(kit, { agentId: 'known-elsewhere', tasks: [reported('t1', TaskState.TASK_STATE_RUNNING)], taskSpecs: [spec('t1')], epoch: seen });
    expect(kills).toEqual([]);
    expect(outcome.adopted.map((t) => t.id)).toEqual(['t1']);
    expect(kit.state.task('t1')).toMatchObject({ adopted: true, state: 'RUNNING', agentId: 'known-elsewhere' });
    expect(kit.leadership.epoch).toBe(seen + 1);
    expect(kit.data.generation).toBe(seen + 1);
    expect(kit.leadership.term).toBeLessThan(seen);
  });

  it('adopts what a known agent runs when it saw this master’s term before this master heard from it (a store restored from a backup)', async () => {
    const kit = await masterWith([]);
    const { outcome } = await register(kit, { tasks: [reported('t1', TaskState.TASK_STATE_RUNNING)], taskSpecs: [spec('t1')], epoch: kit.leadership.term });
    expect(outcome.adopted.map((t) => t.id)).toEqual(['t1']);
    expect(kit.leadership.epoch).toBe(kit.leadership.term + 1);
  });
});

describe('Registration refused', () => {
  it('writes nothing and leaves the agent free when the Register is invalid', async () => {
    const kit = await masterWith([taskRecord('t1', { agentId: AGENT })]);
    const before = new Map(kit.data.records);
    const agent = recordingSession(AGENT);
    await expect(kit.registration.register(FakeAgent.registration({ agentId: AGENT, hostname: '' }), { kind: 'plaintext' }, agent.session)).rejects.toThrow();
    await kit.state.settle();
    expect(kit.data.records).toEqual(before);
    expect(kit.state.task('t1')?.state).toBe('RUNNING');
    // The agent can still register with a valid Register.
    const ok = recordingSession(AGENT);
    await expect(kit.registration.register(FakeAgent.registration({ agentId: AGENT, hostname: 'agent-a.example' }), { kind: 'plaintext' }, ok.session)).resolves.toMatchObject({ agentId: AGENT });
  });
});
