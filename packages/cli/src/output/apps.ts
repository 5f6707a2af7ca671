/** How apps look in `drover app list` and `drover app get`. */
import { fixed, formatConstraint } from '@drover/common';
import {
  type App,
  type AppSpec,
  type AppStatus,
  type AppVersion,
  type Constraint,
  constraintOperatorCodec,
  type Deployment,
  type HealthCheck,
  healthCheckProtocolCodec,
  type PlacementExplanation,
  placementStrategyCodec,
  type TaskFailure,
} from '@drover/proto';
import { formatContainer, formatFetch } from './app-runtime.js';
import { kindOf, progressCell, stateOf } from './deployments.js';
import { type DetailRow, formatDetails } from './details.js';
import { plural } from './plural.js';
import { formatNumber } from './resources.js';
import { formatTable } from './table.js';
import { formatAge, formatMoment } from './time.js';

/** Longest command shown in a table cell before it is cut. */
const CMD_WIDTH = 50;

/** How much of a failed task's stderr `app get` shows: enough for a stack trace's head. */
const STDERR_LINES = 10;

/** The backoff the master applies when a spec leaves it unset (proto AppSpec). */
const BACKOFF_DEFAULTS = { seconds: 1, factor: 1.15, maxSeconds: 300 } as const;

/** Marathon's health check defaults, which the master applies to unset fields (proto HealthCheck). */
const HEALTH_CHECK_DEFAULTS = { intervalSeconds: 60, timeoutSeconds: 20, gracePeriodSeconds: 300, maxConsecutiveFailures: 3 } as const;

/** The upgrade strategy the master applies when a spec leaves it unset (proto UpgradeStrategy). */
const UPGRADE_DEFAULTS = { minimumHealthCapacity: 1, maximumOverCapacity: 1, progressDeadlineSeconds: 600 } as const;

/**
 * The app list as a table. HEALTH is healthy tasks over instances ("-" for
 * an app without health checks); WAITING counts instances with no place and
 * those held back by a launch delay.
 */
export function formatAppTable(apps: readonly App[]): string {
  return formatTable(
    ['id', 'running', 'health', 'staged', 'waiting', 'cpus', 'mem', 'version', 'cmd'],
    apps.map((app) => {
      const spec = app.spec;
      const waiting = waitingOf(app)?.waiting ?? 0;
      return [
        spec?.id ?? '-',
        `${app.status?.tasksRunning ?? 0}/${spec?.instances ?? 0}`,
        hasHealthChecks(app) ? `${app.status?.tasksHealthy ?? 0}/${spec?.instances ?? 0}` : '-',
        String(app.status?.tasksStaged ?? 0),
        waiting > 0 ? String(waiting) : '-',
        formatNumber(spec?.cpus),
        formatNumber(spec?.mem),
        app.version || '-',
        spec ? truncate(commandOf(spec), CMD_WIDTH) : '-',
      ];
    }),
  );
}

/**
 * An app's versions, newest first as the master lists them, the current one
 * marked "(current)" and those that only changed the instance count
 * "(scale)": their tasks are the ones of the configuration before them.
 */
export function formatVersionTable(versions: readonly AppVersion[], current: string): string {
  return formatTable(
    ['version', 'instances', 'cpus', 'mem', 'cmd'],
    versions.map((v) => [
      `${v.version}${v.version === current ? ' (current)' : ''}${v.configVersion ? ' (scale)' : ''}`,
      formatNumber(v.spec?.instances),
      formatNumber(v.spec?.cpus),
      formatNumber(v.spec?.mem),
      v.spec ? truncate(commandOf(v.spec), CMD_WIDTH) : '-',
    ]),
  );
}

/**
 * One app in detail: its spec, its task counts (by health when it has
 * checks), the deployment in progress, the launch delay and last failure
 * when tasks have been failing, and why instances wait, if they do.
 * `deployments` are those the master listed for the app; a running one
 * missing from them shows by id only.
 */
export function formatAppDetails(app: App, now: Date, deployments: readonly Deployment[] = []): string {
  const spec = app.spec;
  const status = app.status;
  const rows: DetailRow[] = [
    ['ID', spec?.id ?? '-'],
    ['Version', `${app.version || '-'}${app.lastScalingAt ? ` (a scale of ${app.lastConfigChangeAt || '-'})` : ''}`],
    ['Command', spec ? commandOf(spec) : '-'],
    ['Instances', String(spec?.instances ?? 0)],
    ['CPUs', formatNumber(spec?.cpus)],
    ['Memory', `${formatNumber(spec?.mem)} MiB`],
    ['Disk', `${formatNumber(spec?.disk)} MiB`],
    ['GPUs', String(spec?.gpus ?? 0)],
    ['Container', formatContainer(spec?.container)],
    ['Fetch', formatFetch(spec?.fetch ?? [])],
    ['User', spec?.user || undefined],
    ['Ports', spec && spec.portDefinitions.length > 0 ? spec.portDefinitions.map(formatPortDefinition).join(', ') : '-'],
    ['Env', formatMap(spec?.env)],
    ['Labels', formatMap(spec?.labels)],
    ['Kill grace', spec?.taskKillGracePeriodSeconds === undefined ? undefined : `${fixed(spec.taskKillGracePeriodSeconds)}s`],
    ['Constraints', spec && spec.constraints.length > 0 ? spec.constraints.map(constraintText).join(', ') : '-'],
    ['Placement', (placementStrategyCodec.name(spec?.placementStrategy ?? 0) ?? 'BINPACK').toLowerCase()],
    ['Backoff', spec ? formatBackoff(spec) : undefined],
    ['Health', spec && spec.healthChecks.length > 0 ? spec.healthChecks.map(formatHealthCheck).join('\n') : '-'],
    ['Upgrade', spec ? formatUpgradeStrategy(spec) : undefined],
    ['Tasks', `${formatRunning(app)}, ${status?.tasksStaged ?? 0} staged, ${status?.tasksKilling ?? 0} killing`],
    ['Deployment', status && status.deployments.length > 0 ? status.deployments.map((id) => formatRunningDeployment(id, deployments, now)).join('\n') : undefined],
    ['Launch delay', status ? formatLaunchDelay(status, now) : undefined],
    // Tasks run the configuration version: a scale since does not make a failure old.
    ['Last failure', status?.lastTaskFailure ? formatFailure(status.lastTaskFailure, app.lastConfigChangeAt || app.version, now) : undefined],
  ];
  const waiting = waitingOf(app);
  if (waiting === undefined) return formatDetails(rows);
  rows.push(['Waiting', waiting.summary || `${waiting.waiting} instance(s) not placed`]);
  let out = formatDetails(rows);
  if (waiting.rejections.length > 0) {
    out += `Rejections (${waiting.agentsConsidered} agents considered):\n`;
    out += formatTable(
      ['reason', 'agents', 'detail'],
      waiting.rejections.map((r) => [r.reason, String(r.agents), r.detail || '-']),
    )
      .split('\n')
      .map((line) => (line === '' ? line : `  ${line}`))
      .join('\n');
  }
  return out;
}

/** The command as one line: cmd as written, or args with the ones holding spaces quoted. */
export function commandOf(spec: AppSpec): string {
  if (spec.cmd !== '') return spec.cmd;
  return spec.args.map((a) => (/[\s"'\\]/.test(a) || a === '' ? JSON.stringify(a) : a)).join(' ');
}

/** "hostname:UNIQUE", "rack:GROUP_BY:3"; an operator newer than this CLI shows as UNKNOWN rather than failing. */
function constraintText(c: Constraint): string {
  const operator = constraintOperatorCodec.name(c.operator);
  if (operator === undefined) return `${c.field}:UNKNOWN${c.value === '' ? '' : `:${c.value}`}`;
  return formatConstraint(c.value === '' ? { field: c.field, operator } : { field: c.field, operator, value: c.value });
}

/**
 * One health check in a line: "HTTP /health on port index 0 every 10s
 * (timeout 2s, grace 30s, kill after 3 failures)", "TCP on port 8080 ...",
 * "COMMAND `test -f /tmp/ready` ...".
 */
export function formatHealthCheck(h: HealthCheck): string {
  // UNSPECIFIED (no name) means Marathon's default, HTTP.
  const name = healthCheckProtocolCodec.name(h.protocol) ?? 'HTTP';
  const target =
    name === 'COMMAND'
      ? `\`${h.command}\``
      : `${name === 'TCP' ? '' : `${h.path || '/'} `}on ${h.port !== undefined ? `port ${h.port}` : `port index ${h.portIndex ?? 0}`}`;
  const interval = h.intervalSeconds ?? HEALTH_CHECK_DEFAULTS.intervalSeconds;
  const timeout = h.timeoutSeconds ?? HEALTH_CHECK_DEFAULTS.timeoutSeconds;
  const grace = h.gracePeriodSeconds ?? HEALTH_CHECK_DEFAULTS.gracePeriodSeconds;
  const failures = h.maxConsecutiveFailures ?? HEALTH_CHECK_DEFAULTS.maxConsecutiveFailures;
  const kill = failures === 0 ? 'never kills' : `kill after ${plural(failures, 'failure')}`;
  return `${name} ${target} every ${fixed(interval)}s (timeout ${fixed(timeout)}s, grace ${fixed(grace)}s, ${kill})`;
}

/** "keep 50% healthy, up to 20% over capacity, 300s progress deadline". */
function formatUpgradeStrategy(spec: AppSpec): string {
  const u = spec.upgradeStrategy;
  const min = u?.minimumHealthCapacity ?? UPGRADE_DEFAULTS.minimumHealthCapacity;
  const over = u?.maximumOverCapacity ?? UPGRADE_DEFAULTS.maximumOverCapacity;
  const deadline = u?.progressDeadlineSeconds ?? UPGRADE_DEFAULTS.progressDeadlineSeconds;
  return `keep ${percent(min)} healthy, up to ${percent(over)} over capacity, ${fixed(deadline)}s progress deadline`;
}

/** "3 running", or with health checks "3 running (2 healthy, 1 unhealthy)" and the ones not checked yet as unknown. */
function formatRunning(app: App): string {
  const running = app.status?.tasksRunning ?? 0;
  if (!hasHealthChecks(app)) return `${running} running`;
  const healthy = app.status?.tasksHealthy ?? 0;
  const unhealthy = app.status?.tasksUnhealthy ?? 0;
  const unknown = Math.max(0, running - healthy - unhealthy);
  return `${running} running (${healthy} healthy, ${unhealthy} unhealthy${unknown > 0 ? `, ${unknown} unknown` : ''})`;
}

/** "<id> UPDATE RUNNING 4/6 healthy, 2 old, started 2m ago", or the id alone when the master did not list it. */
function formatRunningDeployment(id: string, deployments: readonly Deployment[], now: Date): string {
  const d = deployments.find((x) => x.id === id);
  if (d === undefined) return id;
  const started = d.startedAt ? `, started ${formatAge(now.getTime() - d.startedAt.getTime())} ago` : '';
  return `${id} ${kindOf(d)} ${stateOf(d)} ${progressCell(d.progress)}${started}`;
}

function hasHealthChecks(app: App): boolean {
  return (app.spec?.healthChecks.length ?? 0) > 0;
}

function percent(fraction: number): string {
  return `${fixed(fraction * 100)}%`;
}

/** "1s x1.15, max 300s": the first delay, the factor of each further failure, the cap. */
function formatBackoff(spec: AppSpec): string {
  const seconds = spec.backoffSeconds ?? BACKOFF_DEFAULTS.seconds;
  const factor = spec.backoffFactor ?? BACKOFF_DEFAULTS.factor;
  const max = spec.maxLaunchDelaySeconds ?? BACKOFF_DEFAULTS.maxSeconds;
  return `${fixed(seconds)}s x${fixed(factor)}, max ${fixed(max)}s`;
}

/** "1.32s (3 consecutive failures), next launch at <time> (in 1s)"; undefined while no delay runs. */
function formatLaunchDelay(status: AppStatus, now: Date): string | undefined {
  if (status.launchDelaySeconds <= 0) return undefined;
  const delay = `${Math.round(status.launchDelaySeconds * 100) / 100}s`;
  const failures = status.consecutiveFailures > 0 ? ` (${plural(status.consecutiveFailures, 'consecutive failure')})` : '';
  const next = status.nextLaunchAt ? `, next launch at ${formatMoment(status.nextLaunchAt, now)}` : '';
  return `${delay}${failures}${next}`;
}

/**
 * The last failed task, over several lines: which and when, how it ended,
 * the version it ran if that is not the current one, and the tail of its
 * stderr, where the reason usually is.
 */
function formatFailure(f: TaskFailure, currentVersion: string, now: Date): string {
  const where = f.host ? ` on ${f.host}` : f.agentId ? ` on ${f.agentId}` : '';
  const when = f.timestamp ? `, ${formatMoment(f.timestamp, now)}` : '';
  const how = f.exitCode !== undefined ? `exit code ${f.exitCode}` : f.signal ? `signal ${f.signal}` : '';
  const lines = [`${f.taskId}${where}${when}`, `${f.state || 'ended'}${how ? `, ${how}` : ''}${f.message ? `: ${f.message}` : ''}`];
  if (f.appVersion && f.appVersion !== currentVersion) lines.push(`ran version ${f.appVersion} (not the current one)`);
  lines.push(...formatStderrTail(f.stderrTail));
  return lines.join('\n');
}

/** "stderr (last 10 lines):" and those lines indented, without terminal escapes; "stderr: (empty)" when there is none. */
function formatStderrTail(tail: string): string[] {
  const all = tail.split(/\r?\n|\r/).map(printable);
  while (all.length > 0 && all.at(-1)?.trim() === '') all.pop();
  if (all.length === 0) return ['stderr: (empty)'];
  const shown = all.slice(-STDERR_LINES);
  const header = shown.length < all.length ? `stderr (last ${STDERR_LINES} lines):` : 'stderr:';
  return [header, ...shown.map((l) => `  ${l}`)];
}

/** A line of a task's output made safe for a terminal: colors dropped, other control characters shown as "?". */
function printable(line: string): string {
  return line.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}

/** The placement explanation when some instances wait for a place; undefined when none do. */
function waitingOf(app: App): PlacementExplanation | undefined {
  const w = app.status?.waiting;
  if (w === undefined) return undefined;
  return w.waiting > 0 || w.summary !== '' || w.rejections.length > 0 ? w : undefined;
}

function formatPortDefinition(p: AppSpec['portDefinitions'][number]): string {
  const port = p.port === 0 ? 'any' : String(p.port);
  return `${port}/${p.protocol || 'tcp'}${p.name ? ` (${p.name})` : ''}`;
}

function formatMap(map: Record<string, string> | undefined): string | undefined {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return undefined;
  return entries.map(([k, v]) => `${k}=${v}`).join('\n');
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 3)}...`;
}
