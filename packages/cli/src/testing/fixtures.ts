/** Proto messages the command tests serve from the fake master. */
import {
  type Agent,
  AgentState,
  App,
  ConstraintOperator,
  Deployment,
  DeploymentKind,
  DeploymentState,
  Event,
  HealthCheckProtocol,
  HealthState,
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
export const webApp: App = App.fromPartial({
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
  status: { tasksRunning: 2, tasksHealthy: 2 },
});

/** An app whose instances cannot be placed. */
export const bigApp: App = App.fromPartial({
  spec: { ...webApp.spec!, id: '/big', cmd: '', args: ['java', '-jar', 'big app.jar'], mem: 4096, instances: 3 },
  version: '2025-06-01T11:30:00.000Z',
  status: {
    waiting: {
      waiting: 3,
      agentsConsidered: 2,
      rejections: [{ reason: 'insufficient mem', agents: 2, detail: 'need 4096 MiB, most free 960 MiB' }],
      summary: '3 instances waiting: no agent has 4096 MiB of memory free',
    },
  },
});

/** Why /big waits, as the scheduler words it. */
const bigWhy = '2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)';

/** /big's instances in the task overview (Tasks.List `waiting`). */
export const bigWaiting: WaitingInstances = {
  appId: '/big',
  instances: 3,
  explanation: { waiting: 3, agentsConsidered: 2, rejections: [{ reason: 'insufficient mem', agents: 2, detail: 'need 4096 MiB, most free 960 MiB' }], summary: bigWhy },
};

/** An app whose tasks keep failing: constraints, spread placement, a running launch delay and its last failure. */
export const crashApp: App = App.fromPartial({
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
    tasksHealthy: 1,
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
});

/** A running task of /web. */
export const runningTask: Task = Task.fromPartial({
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
  pid: 4242,
});

/** A task of /lost that a master found running with no record of it (its state was lost). */
export const adoptedTask: Task = {
  ...runningTask,
  id: 'lost.77777777-7777-7777-7777-777777777777',
  appId: '/lost',
  adopted: true,
  message: 'adopted: its agent runs it but this master had no record of it (lost or older state); left running',
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

/** The first deployment id of the tests; ids are UUIDs on a real master. */
const deploymentId = (n: number): string => `${n}${n}${n}${n}${n}${n}${n}${n}-dddd-dddd-dddd-dddddddddddd`;

/** An app with health checks and an upgrade strategy, being updated from 6 instances at V1 to 6 at V2. */
export const shopApp: App = App.fromPartial({
  spec: {
    ...webApp.spec!,
    id: '/shop',
    cmd: './shop --port $PORT0',
    instances: 6,
    healthChecks: [
      { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP, path: '/health', portIndex: 0, intervalSeconds: 10, timeoutSeconds: 2, gracePeriodSeconds: 30, maxConsecutiveFailures: 3 },
      { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_COMMAND, command: 'test -f /tmp/ready', maxConsecutiveFailures: 0 },
    ],
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.2, progressDeadlineSeconds: 300 },
  },
  version: '2025-06-01T11:58:00.000Z',
  status: { tasksRunning: 7, tasksHealthy: 5, tasksUnhealthy: 1, tasksStaged: 1, deployments: [deploymentId(1)] },
});

/** /shop's previous version. */
export const shopV1 = '2025-06-01T10:00:00.000Z';

/** The update of /shop, part way: 4 of 6 new instances healthy, 2 old ones left. */
export const shopUpdate: Deployment = Deployment.fromPartial({
  id: deploymentId(1),
  appId: '/shop',
  version: shopApp.version,
  fromVersion: shopV1,
  kind: DeploymentKind.DEPLOYMENT_KIND_UPDATE,
  state: DeploymentState.DEPLOYMENT_STATE_RUNNING,
  steps: [{ action: 'RestartApplication', appId: '/shop' }],
  currentStep: 1,
  progress: { targetInstances: 6, newLive: 5, newHealthy: 4, oldRemaining: 2, healthyTotal: 6 },
  startedAt: ago(120),
  lastProgressAt: ago(10),
  progressDeadlineSeconds: 300,
  minHealthy: 3,
  maxLive: 7,
});

/** shopUpdate at another point: `newHealthy` of 6 new ones healthy, `oldRemaining` old left, and whatever else `more` says. */
export function shopUpdateAt(newHealthy: number, oldRemaining: number, more: Partial<Deployment> = {}): Deployment {
  return Deployment.fromPartial({
    ...shopUpdate,
    progress: { targetInstances: 6, newLive: newHealthy, newHealthy, oldRemaining, healthyTotal: newHealthy + oldRemaining },
    ...more,
  });
}

/** The rollback a failed shopUpdate started. */
export const shopRollback: Deployment = Deployment.fromPartial({
  ...shopUpdate,
  id: deploymentId(2),
  version: shopV1,
  fromVersion: shopApp.version,
  kind: DeploymentKind.DEPLOYMENT_KIND_ROLLBACK,
  rollsBack: shopUpdate.id,
  progress: { targetInstances: 6, newLive: 2, newHealthy: 2, oldRemaining: 4, healthyTotal: 6 },
  startedAt: ago(5),
  lastProgressAt: ago(5),
});

/** A scale of /web that ended an hour ago. */
export const webScale: Deployment = Deployment.fromPartial({
  id: deploymentId(3),
  appId: '/web',
  version: webApp.version,
  fromVersion: webApp.version,
  kind: DeploymentKind.DEPLOYMENT_KIND_SCALE,
  state: DeploymentState.DEPLOYMENT_STATE_SUCCEEDED,
  steps: [{ action: 'ScaleApplication', appId: '/web' }],
  currentStep: 1,
  progress: { targetInstances: 2, newLive: 2, newHealthy: 2, oldRemaining: 0, healthyTotal: 2 },
  startedAt: ago(3660),
  lastProgressAt: ago(3600),
  endedAt: ago(3600),
  progressDeadlineSeconds: 600,
  minHealthy: 2,
  maxLive: 4,
});

/** A healthy task of /shop at the new version. */
export const healthyTask: Task = Task.fromPartial({
  ...runningTask,
  id: 'shop.33333333-3333-3333-3333-333333333333',
  appId: '/shop',
  appVersion: shopApp.version,
  health: HealthState.HEALTH_STATE_HEALTHY,
});

/** A task of /shop whose HTTP check fails. */
export const unhealthyTask: Task = Task.fromPartial({
  ...healthyTask,
  id: 'shop.55555555-5555-5555-5555-555555555555',
  health: HealthState.HEALTH_STATE_UNHEALTHY,
  healthMessage: 'HTTP 503 from /health',
});

/** A task of /shop that has not passed its checks yet. */
export const unknownHealthTask: Task = Task.fromPartial({ ...healthyTask, id: 'shop.66666666-6666-6666-6666-666666666666', health: HealthState.HEALTH_STATE_UNKNOWN });

/** One event of each payload kind, as Events.Watch streams them. */
export const events = {
  taskStatus: Event.fromPartial({ id: 41, timestamp: ago(30), type: 'status_update_event', payload: { $case: 'taskStatus', value: { task: runningTask } } }),
  healthChanged: Event.fromPartial({
    id: 42,
    timestamp: ago(20),
    type: 'health_status_changed_event',
    payload: { $case: 'healthChanged', value: { task: unhealthyTask, alive: false } },
  }),
  unhealthyTaskKill: Event.fromPartial({
    id: 43,
    timestamp: ago(15),
    type: 'unhealthy_task_kill_event',
    payload: { $case: 'unhealthyTaskKill', value: { task: unhealthyTask, reason: 'HTTP 503 from /health' } },
  }),
  deployment: Event.fromPartial({ id: 44, timestamp: ago(10), type: 'deployment_info', payload: { $case: 'deployment', value: { deployment: shopUpdate } } }),
  appPost: Event.fromPartial({
    id: 45,
    timestamp: ago(5),
    type: 'api_post_event',
    payload: { $case: 'app', value: { appId: '/shop', spec: shopApp.spec, version: shopApp.version } },
  }),
  appTerminated: Event.fromPartial({ id: 46, timestamp: ago(4), type: 'app_terminated_event', payload: { $case: 'app', value: { appId: '/old', version: shopV1 } } }),
} satisfies Record<string, Event>;

/** An active agent. */
export const agent1: Agent = {
  id: 'agent-1',
  hostname: 'node1',
  address: '10.0.0.1',
  state: AgentState.AGENT_STATE_ACTIVE,
  total: { cpus: 4, mem: 7936, disk: 10000, gpus: 0, ports: [{ begin: 31000, end: 32000 }] },
  used: { cpus: 0.2, mem: 128, disk: 0, gpus: 0, ports: [] },
  draining: false,
  capabilities: ['isolation:cgroups-v1', 'docker'],
  usage: { cpusUsed: 0.5, memUsed: 2048, memTotal: 7936, tasksRunning: 2, portsInUse: [{ begin: 31000, end: 31000 }] },
  attributes: { rack: 'r1' },
  registeredAt: ago(86_400 * 3),
  lastSeenAt: ago(2),
  tasks: 2,
  version: '0.1.0',
  foreignPorts: [],
  bootId: '0f9a4c2e-1b7d-4e3a-9c55-2d8f6a1b3c4d',
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
  // Something else on node3 listens on two of its offered ports.
  foreignPorts: [
    { begin: 31500, end: 31500 },
    { begin: 31900, end: 31901 },
  ],
};

/** An agent event: node2 was lost. */
export const agentLostEvent: Event = Event.fromPartial({ id: 47, timestamp: ago(3), type: 'agent_lost_event', payload: { $case: 'agent', value: { agent: agent2 } } });

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
  masters: [{ grpcAddress: '127.0.0.1:5053', httpAddress: '127.0.0.1:5050', role: 'leader', epoch: 7 }],
  leaderHttp: '127.0.0.1:5050',
};

/** A deployment event of `type` carrying `deployment`. */
export function deploymentEvent(type: string, deployment: Deployment): Event {
  return Event.fromPartial({ id: 100, timestamp: NOW, type, payload: { $case: 'deployment', value: { deployment } } });
}

/** A status_update_event for `task`. */
export function taskEvent(task: Task): Event {
  return Event.fromPartial({ id: 101, timestamp: NOW, type: 'status_update_event', payload: { $case: 'taskStatus', value: { task } } });
}
