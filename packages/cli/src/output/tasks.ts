/** How tasks look in `drover task list`, `drover task get` and `drover run --wait`. */
import { isTerminal } from '@drover/common';
import { healthStateCodec, type Task, type TaskStateName, taskReasonCodec, taskStateCodec, type WaitingInstances } from '@drover/proto';
import { type DetailRow, formatDetails } from './details.js';
import { formatResources } from './resources.js';
import { formatTable } from './table.js';
import { ageSince, formatMoment } from './time.js';

/** Options of the task table. */
export interface TaskTableOptions {
  /** Add the ENDED and DETAIL columns (set with --all, where ended tasks appear). */
  withEnded: boolean;
  /** The time ages are measured at. */
  now: Date;
}

/** Width of the state column of `drover run --wait` lines: the longest state name. */
const STATE_WIDTH = 'FINISHED'.length;

/**
 * The task list as a table. HEALTH is what the task's health checks say
 * ("-" when its app has none). DETAIL says how an ended task ended and why
 * a PENDING one waits and why an UNREACHABLE one is; it appears with
 * --all, or when some task is PENDING or UNREACHABLE.
 */
export function formatTaskTable(tasks: readonly Task[], options: TaskTableOptions): string {
  const withDetail = options.withEnded || tasks.some((t) => stateName(t) === 'PENDING' || stateName(t) === 'UNREACHABLE');
  const header = ['id', 'app', 'state', 'health', 'host', 'ports', 'age'];
  if (options.withEnded) header.push('ended');
  if (withDetail) header.push('detail');
  return formatTable(
    header,
    tasks.map((t) => {
      const row = [t.id, t.appId || '-', stateOf(t), healthOf(t) ?? '-', t.host || '-', portsOf(t), ageSince(t.stagedAt, options.now)];
      if (options.withEnded) row.push(ageSince(t.endedAt, options.now));
      if (withDetail) row.push((stateName(t) === 'PENDING' ? `waiting: ${waitingSummary(t)}` : endDetail(t)) || '-');
      return row;
    }),
  );
}

/** App instances that have no task yet, and why: a table after the task table. */
export function formatWaitingTable(waiting: readonly WaitingInstances[]): string {
  return formatTable(
    ['app', 'waiting', 'why'],
    waiting.map((w) => [w.appId, String(w.instances), w.explanation?.summary || '-']),
  );
}

/** One task in detail. */
export function formatTaskDetails(t: Task, now: Date): string {
  const rows: DetailRow[] = [
    ['ID', t.id],
    ['App', t.appId || '-'],
    ['App version', t.appVersion || '-'],
    ['State', stateOf(t)],
    ['Health', healthDetail(t)],
    ['Waiting', stateName(t) === 'PENDING' ? waitingSummary(t) : undefined],
    ['Agent', t.agentId ? `${t.agentId} (${t.host || '?'})` : '-'],
    ['Ports', portsOf(t)],
    ['Resources', formatResources(t.resources)],
    ['PID', t.pid ? String(t.pid) : undefined],
    ['Staged', formatMoment(t.stagedAt, now)],
    ['Started', formatMoment(t.startedAt, now)],
    ['Ended', formatMoment(t.endedAt, now)],
    ['Exit code', t.exitCode === undefined ? undefined : String(t.exitCode)],
    ['Signal', t.signal || undefined],
    ['Reason', taskReasonCodec.name(t.reason)],
    ['Message', t.message || undefined],
  ];
  return formatDetails(rows);
}

/** What `drover run` prints without --wait: "started task <id> (PENDING)", and why it waits if it does. */
export function formatRunStarted(t: Task): string {
  const state = stateName(t);
  const started = `started task ${t.id} (${state ?? 'UNKNOWN'})\n`;
  return state === 'PENDING' ? `${started}waiting: ${waitingSummary(t)}\n` : started;
}

/**
 * One line of `drover run --wait` for the task as it is at `at`:
 * "<time> STAGING  on node1", "<time> RUNNING  pid 4242",
 * "<time> FINISHED exited with code 0".
 */
export function formatTaskChange(t: Task, at: Date): string {
  const detail = changeDetail(t);
  return `${`${at.toISOString()} ${stateOf(t).padEnd(STATE_WIDTH)} ${detail}`.trimEnd()}\n`;
}

/** "healthy", "unhealthy", "unknown" (not checked yet); undefined when the task's app has no health checks. */
export function healthOf(t: Task): string | undefined {
  return healthStateCodec.name(t.health)?.toLowerCase();
}

/** The Health row of `task get`: the state and, when a check failed, its output on the next line. */
function healthDetail(t: Task): string | undefined {
  const health = healthOf(t);
  if (health === undefined) return undefined;
  return t.healthMessage ? `${health}\nlast failed check: ${t.healthMessage}` : health;
}

/** Why a PENDING task is not placed: the master's one-sentence explanation. */
export function waitingSummary(t: Task): string {
  return t.waiting?.summary || 'not placed yet';
}

/**
 * "RUNNING", "RUNNING (kill requested)" while the agent has not acted on a
 * kill yet, or "RUNNING (adopted)" for a task the master found running with
 * no record of it (its state was lost): an operator decides what happens.
 */
function stateOf(t: Task): string {
  const name = stateName(t);
  if (name === undefined) return 'UNKNOWN';
  if (isTerminal(name) || name === 'KILLING') return name;
  if (t.killRequested) return `${name} (kill requested)`;
  return t.adopted ? `${name} (adopted)` : name;
}

/** The short state name; undefined for UNSPECIFIED or a state this CLI does not know. */
export function stateName(t: Task): TaskStateName | undefined {
  return taskStateCodec.name(t.state);
}

/** True when the task has ended (FINISHED, FAILED, KILLED, LOST). */
export function hasEnded(t: Task): boolean {
  const name = stateName(t);
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

/** What is new about the task in its current state, for a `run --wait` line. */
function changeDetail(t: Task): string {
  const state = stateName(t);
  switch (state) {
    case 'PENDING':
      return `waiting: ${waitingSummary(t)}`;
    case 'STAGING':
    case 'STARTING':
      return t.host ? `on ${t.host}${t.ports.length > 0 ? `, ports ${portsOf(t)}` : ''}` : '';
    case 'RUNNING':
      return t.pid ? `pid ${t.pid}` : '';
    case undefined:
      return t.message;
    default:
      return isTerminal(state) ? howItEnded(t) : t.message;
  }
}

/** "exited with code 3", "ended by SIGKILL", else the master's message (a launch failure, a lost agent). */
export function howItEnded(t: Task): string {
  if (t.exitCode !== undefined) return `exited with code ${t.exitCode}`;
  if (t.signal) return `ended by ${t.signal}`;
  return t.message || (taskReasonCodec.name(t.reason)?.toLowerCase().replaceAll('_', ' ') ?? '');
}
