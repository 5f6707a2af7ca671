/** How apps look in `drover app list` and `drover app get`. */
import { fixed } from '@drover/common';
import type { App, AppSpec, PlacementExplanation } from '@drover/proto';
import { type DetailRow, formatDetails } from './details.js';
import { formatNumber } from './resources.js';
import { formatTable } from './table.js';

/** Longest command shown in a table cell before it is cut. */
const CMD_WIDTH = 50;

/** The app list as a table. */
export function formatAppTable(apps: readonly App[]): string {
  return formatTable(
    ['id', 'running', 'staged', 'waiting', 'cpus', 'mem', 'version', 'cmd'],
    apps.map((app) => {
      const spec = app.spec;
      const waiting = waitingOf(app)?.waiting ?? 0;
      return [
        spec?.id ?? '-',
        `${app.status?.tasksRunning ?? 0}/${spec?.instances ?? 0}`,
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

/** One app in detail: its spec, its task counts, and why instances wait, if they do. */
export function formatAppDetails(app: App): string {
  const spec = app.spec;
  const status = app.status;
  const rows: DetailRow[] = [
    ['ID', spec?.id ?? '-'],
    ['Version', app.version || '-'],
    ['Command', spec ? commandOf(spec) : '-'],
    ['Instances', String(spec?.instances ?? 0)],
    ['CPUs', formatNumber(spec?.cpus)],
    ['Memory', `${formatNumber(spec?.mem)} MiB`],
    ['Disk', `${formatNumber(spec?.disk)} MiB`],
    ['GPUs', String(spec?.gpus ?? 0)],
    ['Ports', spec && spec.portDefinitions.length > 0 ? spec.portDefinitions.map(formatPortDefinition).join(', ') : '-'],
    ['Env', formatMap(spec?.env)],
    ['Labels', formatMap(spec?.labels)],
    ['Kill grace', spec?.taskKillGracePeriodSeconds === undefined ? undefined : `${fixed(spec.taskKillGracePeriodSeconds)}s`],
    ['Tasks', `${status?.tasksRunning ?? 0} running, ${status?.tasksStaged ?? 0} staged, ${status?.tasksKilling ?? 0} killing`],
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
