/**
 * Stops the tasks of apps that asked for it (stopAfterDisconnectSeconds, as
 * Nomad's stop_after_client_disconnect) once this agent has heard from no
 * master for that long. A partition cuts the agent off from the masters
 * but not its tasks from their clients: without this, an UNREACHABLE task
 * keeps running beside its replacement for as long as the partition lasts,
 * and a singleton is not single. The master cannot stop it (it cannot reach
 * the agent); only the agent can.
 *
 * Fed by the master session: `heard` on every message of a registered
 * stream. Silence is measured from the last of them (or from the agent's
 * start), so a reconnect that never gets registered does not count as
 * being in touch. The kills are ordinary kills with reason
 * MASTERS_UNREACHABLE; their final statuses reach the master when the
 * agent is back in touch.
 */
import type { Logger } from '@drover/common';
import { type KillTask, TaskReason, type TaskSpec } from '@drover/proto';

/** What the stopper needs of the task table. */
export interface StoppableTasks {
  /** The specs of the tasks that have not ended. */
  liveSpecs(): TaskSpec[];
  /** Kills one task (KILLING now, KILLED when it ended). */
  kill(kill: KillTask): Promise<void>;
}

/** How a DisconnectStop runs. */
export interface DisconnectStopOptions {
  readonly tasks: StoppableTasks;
  readonly logger: Logger;
  /** How often silence is compared with the tasks' limits; default 250 ms. */
  readonly checkEveryMs?: number;
  /** The clock, ms; default Date.now. */
  readonly now?: () => number;
}

/** Kills tasks whose app does not want them running while the agent is cut off from every master. */
export class DisconnectStop {
  private lastHeard: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly stopped = new Set<string>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly options: DisconnectStopOptions) {
    this.now = options.now ?? Date.now;
    this.lastHeard = this.now();
    this.log = options.logger.child({ component: 'disconnect-stop' });
  }

  /** A master was heard from on a registered stream. */
  heard(): void {
    this.lastHeard = this.now();
  }

  /** Starts checking on a timer. */
  start(): void {
    this.timer ??= setInterval(() => this.check(), this.options.checkEveryMs ?? 250);
    this.timer.unref();
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check: kills every task whose limit the silence passed (exposed for tests). */
  check(): void {
    const silentMs = this.now() - this.lastHeard;
    for (const spec of this.options.tasks.liveSpecs()) {
      const limit = spec.stopAfterDisconnectSeconds;
      if (limit === undefined || silentMs < limit * 1000 || this.stopped.has(spec.taskId)) continue;
      this.stopped.add(spec.taskId);
      const message = `no master heard from for ${(silentMs / 1000).toFixed(1)} s (the app's stopAfterDisconnectSeconds is ${limit})`;
      this.log.warn({ taskId: spec.taskId, appId: spec.appId, silentMs }, 'stopping a task cut off from every master');
      this.options.tasks
        .kill({ taskId: spec.taskId, gracePeriodSeconds: 0, reason: TaskReason.TASK_REASON_MASTERS_UNREACHABLE, message })
        .catch((e: unknown) => this.log.error({ taskId: spec.taskId, err: e }, 'cannot stop the task'));
    }
  }
}
