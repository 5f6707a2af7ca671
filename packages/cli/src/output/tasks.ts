/** How tasks look in `drover task list` and `drover task get`. */
import { isTerminal } from '@drover/common';
import { type Task, taskReasonCodec, taskStateCodec } from '@drover/proto';
import { type DetailRow, formatDetails } from './details.js';
import { formatResources } from './resources.js';
import { formatTable } from './table.js';
import { ageSince } from './time.js';

/** Options of the task table. */
export interface TaskTableOptions {
  /** Add the ENDED and DETAIL columns (set with --all, where ended tasks appear). */
  withEnded: boolean;
  /** The time ages are measured at. */
  now: Date;
}

/** The task list as a table. */
export function formatTaskTable(tasks: readonly Task[], options: TaskTableOptions): string {
  const header = ['id', 'app', 'state', 'host', 'ports', 'age'];
  if (options.withEnded) header.push('ended', 'detail');
  return formatTable(
    header,
    tasks.map((t) => {
      const row = [t.id, t.appId || '-', stateOf(t), t.host || '-', portsOf(t), ageSince(t.stagedAt, options.now)];
      if (options.withEnded) row.push(ageSince(t.endedAt, options.now), endDetail(t) || '-');
      return row;
    }),
  );
}

/** One task in detail. */
export function formatTaskDetails(t: Task, now: Date): string {
  const rows: DetailRow[] = [
    ['ID', t.id],
    ['App', t.appId || '-'],
    ['App version', t.appVersion || '-'],
    ['State', stateOf(t)],
    ['Agent', t.agentId ? `${t.agentId} (${t.host || '?'})` : '-'],
    ['Ports', portsOf(t)],
    ['Resources', formatResources(t.resources)],
    ['PID', t.pid ? String(t.pid) : undefined],
    ['Staged', timeOf(t.stagedAt, now)],
    ['Started', timeOf(t.startedAt, now)],
    ['Ended', timeOf(t.endedAt, now)],
    ['Exit code', t.exitCode === undefined ? undefined : String(t.exitCode)],
    ['Signal', t.signal || undefined],
    ['Reason', taskReasonCodec.name(t.reason)],
    ['Message', t.message || undefined],
  ];
  return formatDetails(rows);
}

/** "RUNNING", or "RUNNING (kill requested)" while the agent has not acted on a kill yet. */
function stateOf(t: Task): string {
  const name = taskStateCodec.name(t.state);
  if (name === undefined) return 'UNKNOWN';
  return t.killRequested && name !== 'KILLING' && !isTerminal(name) ? `${name} (kill requested)` : name;
}

/** True when the task has ended (FINISHED, FAILED, KILLED, LOST). */
export function hasEnded(t: Task): boolean {
  const name = taskStateCodec.name(t.state);
  return name !== undefined && isTerminal(name);
}

function portsOf(t: Task): string {
  return t.ports.length === 0 ? '-' : t.ports.map((p) => String(p.number)).join(',');
}

/** "exit 1: command exited with 1", "SIGKILL: ...", or the message alone. */
function endDetail(t: Task): string {
  const how = t.exitCode !== undefined ? `exit ${t.exitCode}` : t.signal;
  if (how && t.message) return `${how}: ${t.message}`;
  return how || t.message;
}

function timeOf(at: Date | undefined, now: Date): string | undefined {
  return at === undefined ? undefined : `${at.toISOString()} (${ageSince(at, now)} ago)`;
}
