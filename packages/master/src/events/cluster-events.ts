/**
 * Turns state changes into events: task status and health changes, tasks
 * killed for failing health, and agents registering, getting lost or
 * drained. Watching the state (rather
 * than each place that changes it) means no change can forget its event.
 */
import type { AgentSessions } from '../sessions/agent-sessions.js';
import { agentToProto, taskToProto } from '../convert/to-proto.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AgentRecord } from '../model/records.js';
import type { EventBus } from './event-bus.js';

/** Publishes task and agent events as the state changes. */
export function publishClusterEvents(state: ClusterState, sessions: AgentSessions, events: EventBus): void {
  state.onTaskChange((before, after) => {
    if (!after) return;
    if (!before || before.state !== after.state) {
      events.publish('status_update_event', { $case: 'taskStatus', value: { task: taskToProto(after) } });
    }
    if (after.health !== undefined && before?.health !== after.health && after.health !== 'UNKNOWN') {
      events.publish('health_status_changed_event', {
        $case: 'healthChanged',
        value: { task: taskToProto(after), alive: after.health === 'HEALTHY' },
      });
    }
    // healthKill is set once, when the orchestrator decides the kill (tasks/task-killer.ts).
    if (after.healthKill && !before?.healthKill) {
      events.publish('unhealthy_task_kill_event', { $case: 'unhealthyTaskKill', value: { task: taskToProto(after), reason: after.healthMessage ?? '' } });
    }
  });
  const known = new Map<string, AgentRecord>();
  // Its own memory of agents, not the record before the change: an agent
  // loaded from the store counts as registering again when it first does.
  state.onAgentChange((_stored, after) => {
    const before = known.get(after.id);
    known.set(after.id, after);
    const view = () => ({
      $case: 'agent' as const,
      value: { agent: agentToProto(after, state.ledger.reservation(after.id), sessions.usage(after.id), after.lastSeenAt, sessions.portsInUse(after.id)) },
    });
    if (after.state === 'ACTIVE' && before?.state !== 'ACTIVE') events.publish('agent_registered_event', view());
    if (after.state === 'LOST' && before?.state !== 'LOST') events.publish('agent_lost_event', view());
    if (before && before.drainDeadline !== after.drainDeadline) events.publish('agent_drain_event', view());
  });
}
