/**
 * The master's components wired together, without servers: the one place
 * that knows who needs whom. startMaster adds the store, gRPC and HTTP
 * around it; tests drive it directly with a clock they control.
 */
import type { Logger } from '@drover/common';
import { AgentAdmin } from './services/agent-admin.js';
import { AgentMonitor } from './agents/agent-monitor.js';
import { AgentSessions } from './sessions/agent-sessions.js';
import { Registration } from './agents/registration.js';
import { AppService } from './services/app-service.js';
import type { Clock } from './model/clock.js';
import { DeploymentManager } from './deployments/deployment-manager.js';
import { DeploymentService } from './services/deployment-service.js';
import { publishClusterEvents } from './events/cluster-events.js';
import { EventBus } from './events/event-bus.js';
import { FileRelay } from './files/file-relay.js';
import type { Leadership } from './leadership/leadership.js';
import { TaskFiles } from './files/task-files.js';
import { LaunchBackoff } from './tasks/launch-backoff.js';
import { Orchestrator } from './orchestrator/orchestrator.js';
import { PlanApplier } from './orchestrator/plan-applier.js';
import { TaskFailures } from './tasks/task-failures.js';
import type { ClusterState } from './state/cluster-state.js';
import { StatusHandler } from './tasks/status-handler.js';
import { TaskCommands } from './tasks/task-commands.js';
import { TaskHistory } from './tasks/task-history.js';
import { TaskKiller } from './tasks/task-killer.js';
import { TaskService } from './services/task-service.js';

/** Knobs of the core (defaults as in MasterOptions). */
export interface CoreOptions {
  readonly lostTimeoutMs: number;
  readonly taskHistoryMs?: number;
  readonly taskHistoryMax?: number;
  readonly backoffResetMs?: number;
  /** How often the orchestrator reconciles without a trigger; default 1000 ms. */
  readonly reconcileEveryMs?: number;
  /** Fraction of an app's instances that may be replaced for failing health at once; default 0.25. */
  readonly healthKillFraction?: number;
  /** How long a task without health checks must have been RUNNING to count as healthy; default 5000 ms (see task-health.ts). */
  readonly minRunningMs?: number;
}

/** Every component of a master. */
export interface MasterCore {
  readonly state: ClusterState;
  /** Whether this master leads; the epoch stamped on agent commands. */
  readonly leadership: Leadership;
  readonly sessions: AgentSessions;
  readonly commands: TaskCommands;
  readonly backoff: LaunchBackoff;
  readonly statuses: StatusHandler;
  readonly registration: Registration;
  readonly killer: TaskKiller;
  readonly orchestrator: Orchestrator;
  readonly monitor: AgentMonitor;
  readonly history: TaskHistory;
  readonly apps: AppService;
  readonly tasks: TaskService;
  readonly agents: AgentAdmin;
  readonly deployments: DeploymentService;
  readonly events: EventBus;
  /** Relays file requests to agents and their answers back (the gateway delivers answers to it). */
  readonly fileRelay: FileRelay;
  /** Task logs and sandbox files, through the relay. */
  readonly files: TaskFiles;
  /** Starts the timers (orchestrator, monitor, history). */
  start(): void;
  /** Stops the timers; a reconcile pass in flight completes. */
  stop(): Promise<void>;
}

/** Wires the components around a loaded state. */
export function buildCore(state: ClusterState, leadership: Leadership, options: CoreOptions, clock: Clock, log: Logger): MasterCore {
  const sessions = new AgentSessions();
  const commands = new TaskCommands(sessions);
  const events = new EventBus(state, leadership);
  publishClusterEvents(state, sessions, events);
  const deploymentManager = new DeploymentManager(state, events, clock, log.child({ component: 'deployments' }), options.minRunningMs);
  const backoff = new LaunchBackoff(options.backoffResetMs);
  backoff.restore(state.allApps());
  const failures = new TaskFailures(state, backoff, clock);
  const statuses = new StatusHandler(state, commands, failures, clock, log.child({ component: 'status' }));
  const registration = new Registration(
    state,
    sessions,
    statuses,
    commands,
    failures,
    clock,
    log.child({ component: 'registration' }),
    leadership,
  );
  const killer = new TaskKiller(state, commands, clock);
  const applier = new PlanApplier(state, sessions, commands, clock, log.child({ component: 'applier' }));
  const orchestrator = new Orchestrator(
    { state, sessions, applier, killer, backoff, deployments: deploymentManager, clock, log: log.child({ component: 'orchestrator' }) },
    { tickMs: options.reconcileEveryMs, healthKillFraction: options.healthKillFraction, minRunningMs: options.minRunningMs },
  );
  const deployments = new DeploymentService(state, deploymentManager, orchestrator);
  const monitor = new AgentMonitor(state, sessions, options.lostTimeoutMs, clock, log.child({ component: 'monitor' }));
  const history = new TaskHistory(state, clock, options.taskHistoryMs ?? 3_600_000, options.taskHistoryMax ?? 1000);
  const fileRelay = new FileRelay(state, sessions, log.child({ component: 'file-relay' }));
  return {
    state,
    leadership,
    sessions,
    commands,
    backoff,
    statuses,
    registration,
    killer,
    orchestrator,
    monitor,
    history,
    apps: new AppService(state, orchestrator, killer, backoff, deploymentManager, deployments, events, clock, options.minRunningMs),
    tasks: new TaskService(state, killer, orchestrator, clock),
    agents: new AgentAdmin(state, sessions, clock),
    deployments,
    events,
    fileRelay,
    files: new TaskFiles(fileRelay),
    start() {
      orchestrator.start();
      monitor.start();
      history.start();
    },
    async stop() {
      monitor.stop();
      history.stop();
      await orchestrator.stop();
    },
  };
}
