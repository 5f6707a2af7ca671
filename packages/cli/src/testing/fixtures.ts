/** Proto messages the command tests serve from the fake master. */
import { type Agent, AgentState, type App, type Task, TaskReason, TaskState } from '@drover/proto';
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
  },
  version: '2025-06-01T11:00:00.000Z',
  status: { tasksRunning: 2, tasksStaged: 0, tasksKilling: 0 },
};

/** An app whose instances cannot be placed. */
export const bigApp: App = {
  spec: { ...webApp.spec!, id: '/big', cmd: '', args: ['java', '-jar', 'big app.jar'], mem: 4096, instances: 3 },
  version: '2025-06-01T11:30:00.000Z',
  status: {
    tasksRunning: 0,
    tasksStaged: 0,
    tasksKilling: 0,
    waiting: {
      waiting: 3,
      agentsConsidered: 2,
      rejections: [{ reason: 'insufficient mem', agents: 2, detail: 'need 4096 MiB, most free 960 MiB' }],
      summary: '3 instances waiting: no agent has 4096 MiB of memory free',
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

/** An active agent. */
export const agent1: Agent = {
  id: 'agent-1',
  hostname: 'node1',
  address: '10.0.0.1',
  state: AgentState.AGENT_STATE_ACTIVE,
  total: { cpus: 4, mem: 7936, disk: 10000, gpus: 0, ports: [{ begin: 31000, end: 32000 }] },
  used: { cpus: 0.2, mem: 128, disk: 0, gpus: 0, ports: [] },
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
