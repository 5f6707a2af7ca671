/** Proto messages the command tests serve from the fake master. */
import {
  type Agent,
  AgentState,
  type App,
  ConstraintOperator,
  PlacementStrategy,
  Task,
  TaskReason,
  TaskState,
  type WaitingInstances,
} from '@drover/proto';
import type { InfoResponse } from '@drover/proto';

/** The clock the tests run at, so ages print the same every time. */
export const NOW = new Date('2025-06-01T12:00:00.000Z');

/** `NOW` minus `seconds`. */
export function ago(seconds: number): Date {
  return new Date(NOW.getTime() - seconds * 1000);
}

/** A running app with two instances. */
export const webApp: App = {
  spec: {
    id: '/web',
    cmd: 'node server.js',
    args: [],
    cpus: 0.1,
    mem: 64,
    disk: 0,
    gpus: 0,
    instances: 2,
    env: { MODE: 'dev' },
    labels: {},
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }],
    taskKillGracePeriodSeconds: 3,
    constraints: [],
    backoffSeconds: 1,
    backoffFactor: 1.15,
    maxLaunchDelaySeconds: 300,
    placementStrategy: PlacementStrategy.PLACEMENT_STRATEGY_BINPACK,
  },
  version: '2025-06-01T11:00:00.000Z',
  status: { tasksRunning: 2, tasksStaged: 0, tasksKilling: 0, launchDelaySeconds: 0, consecutiveFailures: 0 },
};

/** An app whose instances cannot be placed. */
export const bigApp: App = {
  spec: { ...webApp.spec!, id: '/big', cmd: '', args: ['java', '-jar', 'big app.jar'], mem: 4096, instances: 3 },
  version: '2025-06-01T11:30:00.000Z',
  status: {
    tasksRunning: 0,
    tasksStaged: 0,
    tasksKilling: 0,
    launchDelaySeconds: 0,
    consecutiveFailures: 0,
    waiting: {
      waiting: 3,
      agentsConsidered: 2,
      rejections: [{ reason: 'insufficient mem', agents: 2, detail: 'need 4096 MiB, most free 960 MiB' }],
      summary: '3 instances waiting: no agent has 4096 MiB of memory free',
    },
  },
};

/** Why /big waits, as the scheduler words it. */
const bigWhy = '2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)';

/** /big's instances in the task overview (Tasks.List `waiting`). */
export const bigWaiting: WaitingInstances = {
  appId: '/big',
  instances: 3,
  explanation: { waiting: 3, agentsConsidered: 2, rejections: [{ reason: 'insufficient mem', agents: 2, detail: 'need 4096 MiB, most free 960 MiB' }], summary: bigWhy },
};

/** An app whose tasks keep failing: constraints, spread placement, a running launch delay and its last failure. */
export const crashApp: App = {
  spec: {
    ...webApp.spec!,
    id: '/crash',
    cmd: './crash.sh',
    constraints: [
      { field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_UNIQUE, value: '' },
      { field: 'rack', operator: ConstraintOperator.CONSTRAINT_OPERATOR_GROUP_BY, value: '3' },
    ],
    placementStrategy: PlacementStrategy.PLACEMENT_STRATEGY_SPREAD,
    backoffSeconds: 2,
    backoffFactor: 1.5,
    maxLaunchDelaySeconds: 60,
  },
  version: '2025-06-01T11:50:00.000Z',
  status: {
    tasksRunning: 1,
    tasksStaged: 0,
    tasksKilling: 0,
    launchDelaySeconds: 1.3225,
    nextLaunchAt: new Date(NOW.getTime() + 1_000),
    consecutiveFailures: 3,
    lastTaskFailure: {
      taskId: 'crash.55555555-5555-5555-5555-555555555555',
      agentId: 'agent-1',
      host: 'node1',
      timestamp: ago(120),
      exitCode: 1,
      signal: '',
      state: 'FAILED',
      message: 'command exited with code 1',
      // 12 lines, the first cut by the 4 KiB tail, one colored, one with a carriage return.
      stderrTail: [
        'ut of range',
        ...Array.from({ length: 9 }, (_, i) => `  at frame${i + 1} (crash.js:${i + 1})`),
        '\u001b[31mError: cannot open /data/db\u001b[0m',
        'exiting\r',
        '',
      ].join('\n'),
      appVersion: '2025-06-01T11:00:00.000Z',
    },
    waiting: {
      waiting: 1,
      agentsConsidered: 0,
      rejections: [],
      summary: 'launch delayed 1.0 s of 1.32 s after repeated failures: last task failed (command exited with code 1)',
    },
  },
};

/** A running task of /web. */
export const runningTask: Task = {
  id: 'web.11111111-1111-1111-1111-111111111111',
  appId: '/web',
  appVersion: webApp.version,
  agentId: 'agent-1',
  host: 'node1',
  state: TaskState.TASK_STATE_RUNNING,
  resources: { cpus: 0.1, mem: 64, disk: 0, gpus: 0, ports: [{ begin: 31001, end: 31001 }] },
  ports: [{ number: 31001, name: 'http', protocol: 'tcp' }],
  stagedAt: ago(300),
  startedAt: ago(299),
  signal: '',
  reason: TaskReason.TASK_REASON_UNSPECIFIED,
  message: '',
  killRequested: false,
  pid: 4242,
};

/** A task of /web that failed. */
export const failedTask: Task = {
  ...runningTask,
  id: 'web.22222222-2222-2222-2222-222222222222',
  state: TaskState.TASK_STATE_FAILED,
  ports: [{ number: 31002, name: 'http', protocol: 'tcp' }],
  stagedAt: ago(7200),
  startedAt: ago(7190),
  endedAt: ago(3600),
  exitCode: 1,
  reason: TaskReason.TASK_REASON_COMMAND_EXITED,
  message: 'command exited with code 1',
};

/** A one-off task (`drover run`) that no agent can take yet. */
export const pendingTask: Task = Task.fromPartial({
  id: 'run.44444444-4444-4444-4444-444444444444',
  state: TaskState.TASK_STATE_PENDING,
  resources: { cpus: 0.1, mem: 4096 },
  stagedAt: ago(10),
  waiting: { waiting: 1, agentsConsidered: 2, rejections: bigWaiting.explanation!.rejections, summary: bigWhy },
});

/** `pendingTask` through its life, as `drover run --wait` sees it. */
export const oneOffTask = {
  pending: pendingTask,
  staging: { ...pendingTask, state: TaskState.TASK_STATE_STAGING, waiting: undefined, agentId: 'agent-1', host: 'node1' },
  starting: { ...pendingTask, state: TaskState.TASK_STATE_STARTING, waiting: undefined, agentId: 'agent-1', host: 'node1' },
  running: { ...pendingTask, state: TaskState.TASK_STATE_RUNNING, waiting: undefined, agentId: 'agent-1', host: 'node1', pid: 4343, startedAt: ago(5) },
  ended: (end: Partial<Task>): Task => ({
    ...pendingTask,
    waiting: undefined,
    agentId: 'agent-1',
    host: 'node1',
    pid: 4343,
    startedAt: ago(5),
    endedAt: NOW,
    ...end,
  }),
} satisfies Record<string, Task | ((end: Partial<Task>) => Task)>;

/** An active agent. */
export const agent1: Agent = {
  id: 'agent-1',
  hostname: 'node1',
  address: '10.0.0.1',
  state: AgentState.AGENT_STATE_ACTIVE,
  total: { cpus: 4, mem: 7936, disk: 10000, gpus: 0, ports: [{ begin: 31000, end: 32000 }] },
  used: { cpus: 0.2, mem: 128, disk: 0, gpus: 0, ports: [] },
  draining: false,
  usage: { cpusUsed: 0.5, memUsed: 2048, memTotal: 7936, tasksRunning: 2 },
  attributes: { rack: 'r1' },
  registeredAt: ago(86_400 * 3),
  lastSeenAt: ago(2),
  tasks: 2,
  version: '0.1.0',
};

/** An agent the master gave up on. */
export const agent2: Agent = {
  ...agent1,
  id: 'agent-2',
  hostname: 'node2',
  state: AgentState.AGENT_STATE_LOST,
  used: { cpus: 0, mem: 0, disk: 0, gpus: 0, ports: [] },
  tasks: 0,
  lastSeenAt: ago(600),
};

/** An agent being drained for maintenance; the rest of its tasks die in 5 minutes. */
export const drainingAgent: Agent = {
  ...agent1,
  id: 'agent-3',
  hostname: 'node3',
  draining: true,
  drainDeadline: new Date(NOW.getTime() + 300_000),
  lastSeenAt: ago(1),
};

/** What the fake master says about itself. */
export const clusterInfo: InfoResponse = {
  version: '0.1.0',
  leader: '127.0.0.1:5053',
  isLeader: true,
  uptimeSeconds: 3_900,
  startedAt: ago(3_900),
  epoch: 7,
  agentsActive: 1,
  apps: 2,
  tasksLive: 2,
  store: 'sqlite',
};
