/**
 * The master's core in one process without gRPC, for orchestration tests
 * driven by vitest's fake timers: a real SQLite store, real components
 * (buildCore), and agents whose "stream" records the commands they get.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { type AgentMessage, HealthState, type MasterMessage, type Register, TaskState, TaskStatus } from '@drover/proto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { AgentSession, type MasterCommand } from '../sessions/agent-session.js';
import { buildCore, type CoreOptions, type MasterCore } from '../master-core.js';
import { ClusterState } from '../state/cluster-state.js';
import { MasterEpoch } from '../leadership/master-epoch.js';
import { SingleMasterLeadership } from '../leadership/single-master-leadership.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { FakeAgent } from './fake-agent.js';

/** The body of one kind of master command. */
type Value<C extends MasterCommand['$case']> = Extract<MasterCommand, { $case: C }>['value'];

/** An in-process agent: what it was told, and a way to answer. */
export class CoreAgent {
  readonly commands: MasterCommand[] = [];

  constructor(
    readonly id: string,
    private readonly core: MasterCore,
  ) {}

  /** Commands of one kind received so far (removed from the list). */
  take<C extends MasterCommand['$case']>(kind: C): Value<C>[] {
    const out: Value<C>[] = [];
    for (let i = 0; i < this.commands.length; ) {
      const c = this.commands[i] as MasterCommand;
      if (c.$case === kind) {
        out.push(c.value as Value<C>);
        this.commands.splice(i, 1);
      } else i++;
    }
    return out;
  }

  /** Task ids launched on this agent so far (removed from the list). */
  launched(): string[] {
    return this.take('launch').map((l) => l.task?.taskId ?? '');
  }

  /** Answers every pending kill with KILLED (the process ended). */
  async finishKills(): Promise<string[]> {
    const ids = this.take('kill').map((k) => k.taskId);
    for (const id of ids) await this.report(id, 'KILLED');
    return ids;
  }

  /** Reports a health change of a RUNNING task, as the agent's checks would. */
  async health(taskId: string, health: 'HEALTHY' | 'UNHEALTHY', extra: Partial<TaskStatus> = {}): Promise<void> {
    await this.core.statuses.handle(
      this.id,
      TaskStatus.fromPartial({
        uuid: `${taskId}-health-${health}-${Date.now()}-${Math.random()}`,
        taskId,
        state: TaskState.TASK_STATE_RUNNING,
        health: health === 'HEALTHY' ? HealthState.HEALTH_STATE_HEALTHY : HealthState.HEALTH_STATE_UNHEALTHY,
        timestamp: new Date(),
        pid: 1,
        ...extra,
      }),
    );
  }

  /** Reports a task state, as the agent would; resolves once durable. */
  async report(taskId: string, state: keyof typeof STATES, extra: Partial<TaskStatus> = {}): Promise<void> {
    await this.core.statuses.handle(this.id, TaskStatus.fromPartial({ uuid: `${taskId}-${state}`, taskId, state: STATES[state], timestamp: new Date(), pid: 1, ...extra }));
  }
}

const STATES = {
  STARTING: TaskState.TASK_STATE_STARTING,
  RUNNING: TaskState.TASK_STATE_RUNNING,
  FINISHED: TaskState.TASK_STATE_FINISHED,
  FAILED: TaskState.TASK_STATE_FAILED,
  KILLED: TaskState.TASK_STATE_KILLED,
} as const;

/** A core plus helpers; call close() in afterEach. */
export interface CoreHarness {
  readonly core: MasterCore;
  /** Registers an agent (id fixed, so tests control ordering) and attaches its command recorder. */
  agent(id: string, overrides?: Partial<Register>): Promise<CoreAgent>;
  /** The state name of a task. */
  stateOf(taskId: string): string | undefined;
  /**
   * Lets what is in flight finish, a few rounds deep: each round yields to
   * the event loop (the orchestrator's passes and the group commit run on
   * setImmediate) and waits for the store's writes, which complete on the
   * store's own thread in real time, however the test fakes timers.
   */
  tick(rounds?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a core on a fresh SQLite store; its timers follow vitest's fake timers when they are on. */
export async function startCore(options: Partial<CoreOptions> = {}): Promise<CoreHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-core-'));
  const store = await SqliteStore.open(dir);
  const leadership = new SingleMasterLeadership(await MasterEpoch.start(store));
  const state = await ClusterState.load(store, {
    fence: leadership.fence,
    onFatal: (e) => {
      throw e;
    },
  });
  const clock = { now: () => Date.now() };
  const core = buildCore(state, leadership, { lostTimeoutMs: 60_000, ...options }, clock, silentLogger());
  core.start();
  return {
    core,
    async agent(id, overrides = {}) {
      const reg = FakeAgent.registration({ agentId: id, hostname: `${id}.test`, ...overrides });
      const agent = new CoreAgent(id, core);
      const stream = {
        destroyed: false,
        writable: true,
        write: (m: MasterMessage) => {
          if (m.message) agent.commands.push(m.message);
          return true;
        },
        end: () => undefined,
        getPeer: () => `core-harness:${id}`,
      } as unknown as ServerDuplexStream<AgentMessage, MasterMessage>;
      const session = new AgentSession(stream, leadership, silentLogger());
      const outcome = await core.registration.register(reg, { kind: 'plaintext' }, session);
      core.sessions.recordPortsInUse(outcome.agentId, reg.portsInUse);
      core.sessions.attach(outcome.agentId, session, clock.now());
      core.registration.followUp(outcome);
      core.orchestrator.trigger();
      return agent;
    },
    async tick(rounds = 5) {
      for (let i = 0; i < rounds; i++) {
        await new Promise((r) => setImmediate(r));
        await state.settle();
      }
    },
    stateOf(taskId) {
      const t = core.state.task(taskId);
      return t ? t.state : undefined;
    },
    async close() {
      await core.stop();
      await state.settle();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

