/**
 * Events of the master's EventBus in Marathon's JSON shapes for
 * /v2/events: every object carries `eventType` and `timestamp`, and the
 * fields Marathon's event of that type has (status_update_event,
 * health_status_changed_event, deployment_*, api_post_event, ...).
 * Drover's own agent_* events follow the same conventions.
 */
import { agentStateCodec, type Event, type Task } from '@drover/proto';
import { appDefinitionJson, type Json, mesosTaskState } from './app-json.js';
import { currentStepJson, planJson, type SpecLookup } from './deployment-json.js';

/** An event as the `data:` line of /v2/events carries it. */
export function eventJson(event: Event, specOf: SpecLookup): Json {
  const base = { eventType: event.type, timestamp: (event.timestamp ?? new Date()).toISOString() };
  const p = event.payload;
  switch (p?.$case) {
    case 'taskStatus':
      return { ...base, ...statusUpdate(p.value.task) };
    case 'healthChanged': {
      const t = p.value.task;
      return { ...base, appId: t?.appId ?? '', taskId: t?.id ?? '', instanceId: t?.id ?? '', version: t?.appVersion ?? '', alive: p.value.alive };
    }
    case 'unhealthyTaskKill': {
      const t = p.value.task;
      return { ...base, appId: t?.appId ?? '', taskId: t?.id ?? '', version: t?.appVersion ?? '', reason: p.value.reason, host: t?.host ?? '', slaveId: t?.agentId ?? '' };
    }
    case 'deployment': {
      const d = p.value.deployment;
      if (!d) return base;
      const plan = planJson(d, specOf);
      if (event.type === 'deployment_info' || event.type === 'deployment_step_success' || event.type === 'deployment_step_failure') {
        return { ...base, plan, currentStep: currentStepJson(d) };
      }
      return { ...base, id: d.id, plan, ...(d.message !== '' ? { reason: d.message } : {}) };
    }
    case 'app': {
      const a = p.value;
      if (event.type === 'app_terminated_event') return { ...base, appId: a.appId };
      return {
        ...base,
        clientIp: null,
        uri: `/v2/apps${a.appId}`,
        appDefinition: a.spec ? appDefinitionJson(a.spec, a.version) : { id: a.appId, version: a.version },
      };
    }
    case 'agent': {
      const a = p.value.agent;
      return {
        ...base,
        agentId: a?.id ?? '',
        hostname: a?.hostname ?? '',
        address: a?.address ?? '',
        state: a ? (agentStateCodec.name(a.state) ?? 'UNKNOWN') : 'UNKNOWN',
        attributes: a?.attributes ?? {},
        draining: a?.draining ?? false,
        drainDeadline: a?.drainDeadline?.toISOString() ?? null,
      };
    }
    default:
      return base;
  }
}

/** Marathon's MesosStatusUpdateEvent fields. */
function statusUpdate(t: Task | undefined): Json {
  return {
    slaveId: t?.agentId ?? '',
    taskId: t?.id ?? '',
    taskStatus: t ? mesosTaskState(t) : 'TASK_STAGING',
    message: t?.message ?? '',
    appId: t?.appId ?? '',
    host: t?.host ?? '',
    ports: t?.ports.map((p) => p.number) ?? [],
    version: t?.appVersion ?? '',
  };
}
