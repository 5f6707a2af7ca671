import { Code, DroverError } from '@drover/common';

/** Marathon's event types, and Drover's own agent events, as the master names them (for --type). */
export const EVENT_TYPES: readonly string[] = [
  'status_update_event',
  'health_status_changed_event',
  'unhealthy_task_kill_event',
  'deployment_info',
  'deployment_step_success',
  'deployment_success',
  'deployment_failed',
  'deployment_rollback',
  'api_post_event',
  'app_terminated_event',
  'agent_registered_event',
  'agent_lost_event',
  'agent_drain_event',
];

/**
 * Adds the event types of one --type (one name, or several separated by
 * commas) to those given so far. A misspelt type would match nothing and
 * leave `drover events` silent forever, so an unknown name is refused.
 */
export function addEventTypes(text: string, previous: string[] | undefined): string[] {
  const types = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (types.length === 0) throw new DroverError(`bad event type "${text}": expected a name such as status_update_event`, Code.InvalidArgument);
  for (const t of types) {
    if (!EVENT_TYPES.includes(t)) throw new DroverError(`unknown event type "${t}": expected one of ${EVENT_TYPES.join(', ')}`, Code.InvalidArgument);
  }
  return [...new Set([...(previous ?? []), ...types])];
}
