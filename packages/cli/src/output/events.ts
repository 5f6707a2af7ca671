/**
 * How `drover events` prints one event: "<time> <type> <summary>", one line
 * per event so the output can be grepped and tailed like a log. The summary
 * depends on the payload, not on the type name, so a type this CLI does not
 * know yet still prints what it carries.
 */
import { agentStateCodec, type Event } from '@drover/proto';
import { kindOf, progressCell, stateOf as deploymentState } from './deployments.js';
import { hasEnded, howItEnded, stateName } from './tasks.js';

/** "2025-06-01T12:00:00.000Z status_update_event web.1234 RUNNING on node1". */
export function formatEventLine(e: Event): string {
  const summary = eventSummary(e).replace(/\s*[\r\n]+\s*/g, ' ');
  return `${`${e.timestamp?.toISOString() ?? '-'} ${e.type || '-'} ${summary}`.trimEnd()}\n`;
}

/** What the event says, after its type. */
function eventSummary(e: Event): string {
  const p = e.payload;
  switch (p?.$case) {
    case 'taskStatus': {
      const t = p.value.task;
      if (!t) return '';
      const ended = hasEnded(t) ? howItEnded(t) : '';
      return `${t.id} ${stateName(t) ?? 'UNKNOWN'}${t.host ? ` on ${t.host}` : ''}${ended ? `: ${ended}` : ''}`;
    }
    case 'healthChanged': {
      const t = p.value.task;
      if (!t) return '';
      return p.value.alive ? `${t.id} healthy` : `${t.id} unhealthy${t.healthMessage ? `: ${t.healthMessage}` : ''}`;
    }
    case 'unhealthyTaskKill': {
      const t = p.value.task;
      return `${t?.id ?? '-'} killed after failing health checks${p.value.reason ? `: ${p.value.reason}` : ''}`;
    }
    case 'deployment': {
      const d = p.value.deployment;
      if (!d) return '';
      return `${d.id} ${kindOf(d)} ${d.appId} ${deploymentState(d)} ${progressCell(d.progress)}${d.message ? `: ${d.message}` : ''}`;
    }
    case 'app':
      // The spec is absent when the app was deleted.
      return p.value.spec ? `${p.value.appId} version ${p.value.version}` : `${p.value.appId} deleted`;
    case 'agent': {
      const a = p.value.agent;
      if (!a) return '';
      return `${a.id} ${a.hostname} ${agentStateCodec.name(a.state) ?? 'UNKNOWN'}${a.draining ? ' draining' : ''}`;
    }
    default:
      return '';
  }
}
