/**
 * The two commands the master sends about tasks: launch and kill. Both are
 * sent only after the task record they follow from is durable, so a master
 * that crashes right after sending still knows about the task on restart.
 */
import type { AppSpec, TaskReasonName, TaskSpec } from '@drover/proto';
import { taskReasonCodec } from '@drover/proto';
import type { AgentSessions } from '../sessions/agent-sessions.js';
import type { TaskRecord } from '../model/records.js';

/** What an agent needs to run a task of an app. */
export function taskSpecFor(task: TaskRecord, app: AppSpec): TaskSpec {
  return {
    taskId: task.id,
    appId: task.appId,
    appVersion: task.appVersion,
    cmd: app.cmd,
    args: [...app.args],
    env: { ...app.env },
    resources: { ...task.resources, ports: task.ports.map((p) => ({ begin: p.number, end: p.number })) },
    ports: task.ports.map((p) => ({ ...p })),
    killGracePeriodSeconds: task.killGracePeriodSeconds,
    labels: { ...app.labels },
    healthChecks: (app.healthChecks ?? []).map((h) => ({ ...h })),
    container: app.container,
    fetch: (app.fetch ?? []).map((f) => ({ ...f })),
    user: app.user ?? '',
    stopAfterDisconnectSeconds: app.stopAfterDisconnectSeconds,
  };
}

/** Sends launch and kill commands to agents. */
export class TaskCommands {
  constructor(private readonly sessions: AgentSessions) {}

  /** Asks the task's agent to start it; false if the agent is not connected. */
  launch(task: TaskRecord, app: AppSpec): boolean {
    return this.sessions.send(task.agentId, { $case: 'launch', value: { task: taskSpecFor(task, app) } });
  }

  /** Asks an agent to kill a task; false if the agent is not connected. */
  kill(agentId: string, taskId: string, gracePeriodSeconds: number, reason: TaskReasonName, message: string): boolean {
    return this.sessions.send(agentId, {
      $case: 'kill',
      value: { taskId, gracePeriodSeconds, reason: taskReasonCodec.value(reason), message },
    });
  }
}
