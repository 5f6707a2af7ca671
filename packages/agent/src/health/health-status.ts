/**
 * Task health as TaskStatus fields, both ways. Every status of a task with
 * health checks carries its last known health (UNSPECIFIED is reserved for
 * tasks without checks), so whichever status the master sees last (a
 * health update, KILLING, the terminal one, or the latest status in a
 * Register) tells it the health too.
 */
import { HealthState, healthStateCodec, type TaskStatus } from '@drover/proto';
import type { MonitoredHealth, TaskHealth } from './health-monitor.js';

/** The health fields of a TaskStatus; all unset (UNSPECIFIED) for a task without checks. */
export function healthFields(
  health: TaskHealth | undefined,
): Pick<TaskStatus, 'health' | 'healthFailures' | 'healthFailed' | 'healthMessage'> {
  if (health === undefined) {
    return { health: HealthState.HEALTH_STATE_UNSPECIFIED, healthFailures: 0, healthFailed: false, healthMessage: '' };
  }
  return {
    health: healthStateCodec.value(health.health),
    healthFailures: health.failures,
    healthFailed: health.failed,
    healthMessage: health.message,
  };
}

/** The health a (checkpointed) status carries; undefined when it carries none. */
export function healthOfStatus(status: TaskStatus): TaskHealth | undefined {
  const name = healthStateCodec.name(status.health);
  if (name !== 'UNKNOWN' && name !== 'HEALTHY' && name !== 'UNHEALTHY') return undefined;
  const health: MonitoredHealth = name;
  return { health, failures: status.healthFailures, failed: status.healthFailed, message: status.healthMessage };
}

/** The status message of a health update, for example "unhealthy: HTTP 503 from /health". */
export function healthStatusMessage(health: TaskHealth): string {
  switch (health.health) {
    case 'HEALTHY':
      return 'healthy: every health check passes';
    case 'UNHEALTHY':
      return health.failed
        ? `unhealthy, ${health.failures} failures in a row: ${health.message}`
        : `unhealthy: ${health.message}`;
    case 'UNKNOWN':
      return health.message === '' ? 'health unknown' : `health unknown: ${health.message}`;
  }
}
