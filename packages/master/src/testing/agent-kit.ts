/**
 * The master's agent-facing components wired on an in-memory store, with a
 * clock the test sets: what registration and status handling need, without
 * gRPC, timers or an orchestrator.
 */
import { silentLogger } from '@drover/common';
import { Registration } from '../agents/registration.js';
import { MasterEpoch } from '../leadership/master-epoch.js';
import { SingleMasterLeadership } from '../leadership/single-master-leadership.js';
import type { Mutation } from '../model/mutation.js';
import { AgentSessions } from '../sessions/agent-sessions.js';
import { ClusterState } from '../state/cluster-state.js';
import { LaunchBackoff } from '../tasks/launch-backoff.js';
import { StatusHandler } from '../tasks/status-handler.js';
import { TaskCommands } from '../tasks/task-commands.js';
import { TaskFailures } from '../tasks/task-failures.js';
import { MemoryStore, MemoryStoreData } from './memory-store.js';

/** The components, and the clock they read. */
export interface AgentKit {
  readonly state: ClusterState;
  readonly sessions: AgentSessions;
  readonly leadership: SingleMasterLeadership;
  readonly backoff: LaunchBackoff;
  readonly statuses: StatusHandler;
  readonly registration: Registration;
  /** What the store holds. */
  readonly data: MemoryStoreData;
  /** The time the components read; tests move it. */
  now: number;
}

/** Wires the kit on a store holding `stored` (written before the master starts, as a previous run would have). */
export async function agentKit(stored: readonly Mutation[] = [], data = new MemoryStoreData()): Promise<AgentKit> {
  await new MemoryStore(data).commit(stored);
  const store = new MemoryStore(data);
  const leadership = new SingleMasterLeadership(await MasterEpoch.start(store));
  const state = await ClusterState.load(store, {
    fence: leadership.fence,
    onFatal: (e) => {
      throw e;
    },
  });
  const sessions = new AgentSessions();
  const commands = new TaskCommands(sessions);
  const backoff = new LaunchBackoff();
  const kit = { state, sessions, leadership, backoff, data, now: 1_000_000 } as AgentKit;
  const clock = { now: () => kit.now };
  const failures = new TaskFailures(state, backoff, clock);
  const statuses = new StatusHandler(state, commands, failures, clock, silentLogger());
  const registration = new Registration(state, sessions, statuses, commands, failures, clock, silentLogger(), leadership);
  return Object.assign(kit, { statuses, registration });
}
