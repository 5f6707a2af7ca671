/**
 * One probe of one health check, per protocol, after Marathon's checks.
 * Every check runs on the task's own machine, so HTTP(S) and TCP probes dial
 * 127.0.0.1 (as Mesos' HTTP checks do): a task need not listen on the address
 * it is published under for its agent to check it, and no probe crosses the
 * network.
 *
 * A probe never throws and never outlives its timeout: whatever happens
 * (refused, reset, a server that never answers, a command that hangs) it
 * settles with an outcome and a one-line message, and it closes its socket
 * or SIGKILLs its command's process group when it settles. That is what lets
 * the monitor keep at most one probe per check in flight. An AbortSignal
 * ends a probe early (the task stopped); its outcome is then 'ignore'.
 *
 * Probes use node's http/https/net/child_process directly: HTTP clients
 * with pools or retries would hide exactly what a health check must see.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { DROVER_VERSION, defaultHealthCheckDelaySeconds, timerDelay } from '@drover/common';
import { type AssignedPort, type HealthCheck, HealthCheckProtocol } from '@drover/proto';
import { TASK_COMMAND_OUTPUT_BYTES, type TaskCommandRunner } from '../executor/executor.js';
import { readProcStatSync } from '../executor/proc-stat.js';
import { killGroupLeftovers, signalGroup } from '../executor/process-group.js';

/**
 * Marathon's defaults, used for any field the master left unset (or set to
 * nonsense). delaySeconds depends on the protocol: see
 * defaultHealthCheckDelaySeconds (0 for HTTP, HTTPS and TCP, 15 for COMMAND).
 */
export const HEALTH_CHECK_DEFAULTS = {
  path: '/',
  portIndex: 0,
  gracePeriodSeconds: 300,
  intervalSeconds: 60,
  timeoutSeconds: 20,
  maxConsecutiveFailures: 3,
} as const;

/** A health check protocol as Marathon spells it. */
export type HealthCheckProtocolName = 'HTTP' | 'HTTPS' | 'TCP' | 'COMMAND';

/** A health check with every default applied and its port resolved against the task's ports. */
export interface HealthCheckSettings {
  /** How to probe. */
  readonly protocol: HealthCheckProtocolName;
  /** HTTP(S) path, always starting with "/". */
  readonly path: string;
  /** Host port to probe; undefined for COMMAND, or when the task has no port at portIndex. */
  readonly port: number | undefined;
  /** The index into the task's ports the port came from (for messages); undefined for a fixed port. */
  readonly portIndex: number | undefined;
  /** COMMAND: the shell command. */
  readonly command: string;
  /** Failures this long after the task became RUNNING do not count until it was healthy once. */
  readonly gracePeriodMs: number;
  /** Time between the starts of two probes. */
  readonly intervalMs: number;
  /** A probe taking longer fails. */
  readonly timeoutMs: number;
  /** Consecutive counted failures that make the task "failed"; 0 never does. */
  readonly maxConsecutiveFailures: number;
  /** Time after the task became RUNNING before the first probe. */
  readonly delayMs: number;
  /** HTTP(S): a 1xx answer counts as neither pass nor fail. */
  readonly ignoreHttp1xx: boolean;
}

/** What one probe found: 'ignore' counts as neither pass nor fail (1xx with ignoreHttp1xx, stopped). */
export interface ProbeResult {
  /** The verdict. */
  readonly outcome: 'pass' | 'fail' | 'ignore';
  /** One line for people, for example "HTTP 503 from /health". */
  readonly message: string;
}

/** What a COMMAND check needs of its task: it runs where the task runs, as the task would. */
export interface ProbeTarget {
  /** The task's sandbox (the command's working directory on the host). */
  readonly cwd: string;
  /** The task's complete environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Runs the command where the task runs (inside its container); unset: on the host, in cwd with env. */
  readonly run?: TaskCommandRunner;
}

/** The settings of `check` for a task holding `ports`, defaults applied. */
export function healthCheckSettings(check: HealthCheck, ports: readonly AssignedPort[]): HealthCheckSettings {
  const protocol = protocolName(check.protocol);
  const fixedPort = check.port !== undefined && check.port > 0 && check.port <= 65535 ? check.port : undefined;
  const portIndex = fixedPort === undefined ? nonNegativeInteger(check.portIndex, HEALTH_CHECK_DEFAULTS.portIndex) : undefined;
  const port = protocol === 'COMMAND' ? undefined : (fixedPort ?? ports[portIndex ?? 0]?.number);
  const path = check.path === '' ? HEALTH_CHECK_DEFAULTS.path : check.path.startsWith('/') ? check.path : `/${check.path}`;
  return {
    protocol,
    path,
    port,
    portIndex,
    command: check.command,
    gracePeriodMs: millis(check.gracePeriodSeconds, HEALTH_CHECK_DEFAULTS.gracePeriodSeconds, true),
    intervalMs: millis(check.intervalSeconds, HEALTH_CHECK_DEFAULTS.intervalSeconds, false),
    timeoutMs: millis(check.timeoutSeconds, HEALTH_CHECK_DEFAULTS.timeoutSeconds, false),
    maxConsecutiveFailures: nonNegativeInteger(check.maxConsecutiveFailures, HEALTH_CHECK_DEFAULTS.maxConsecutiveFailures),
    delayMs: millis(check.delaySeconds, defaultHealthCheckDelaySeconds(protocol), true),
    ignoreHttp1xx: check.ignoreHttp1xx,
  };
}

/** Runs one probe; never rejects, settles within the check's timeout (or at once when `signal` aborts). */
export function runHealthCheck(check: HealthCheckSettings, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  if (check.protocol === 'COMMAND') {
    if (check.command.trim() === '') return Promise.resolve({ outcome: 'fail', message: 'COMMAND check without a command' });
    return target.run === undefined ? probeCommand(check, target, signal) : probeInTask(check, target.run, signal);
  }
  if (check.port === undefined) {
    const message = `the task has no port at index ${check.portIndex ?? 0} to check`;
    return Promise.resolve({ outcome: 'fail', message });
  }
  switch (check.protocol) {
    case 'HTTP':
      return probeHttp(check, check.port, false, signal);
    case 'HTTPS':
      return probeHttp(check, check.port, true, signal);
    case 'TCP':
      return probeTcp(check, check.port, signal);
  }
}

/** "timed out after 1.5s". */
export function timedOutMessage(timeoutMs: number): string {
  return `timed out after ${Number((timeoutMs / 1000).toFixed(3))}s`;
}

function protocolName(protocol: HealthCheckProtocol): HealthCheckProtocolName {
  switch (protocol) {
    case HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTPS:
      return 'HTTPS';
    case HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_TCP:
      return 'TCP';
    case HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_COMMAND:
      return 'COMMAND';
    default:
      // UNSPECIFIED is HTTP by the contract; an unknown future value is
      // probed as HTTP too rather than silently never checked.
      return 'HTTP';
  }
}

function millis(seconds: number | undefined, fallbackSeconds: number, zeroAllowed: boolean): number {
  const ok = seconds !== undefined && Number.isFinite(seconds) && (zeroAllowed ? seconds >= 0 : seconds > 0);
  return Math.round((ok ? seconds : fallbackSeconds) * 1000);
}

function nonNegativeInteger(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

/** Makes any error text one short line, so it fits a status message. */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** One probe in progress, as the deadline wrapper sees it. */
interface Attempt {
  /** Releases what the attempt holds (socket, process group); called once it settled, however. */
  cleanup(): void;
  /** The result at the timeout, when the attempt knows better than "timed out". */
  timedOut?(): ProbeResult | undefined;
}

/**
 * Runs `start` with a deadline: the first of its own result, the timeout and
 * the abort signal wins, and the attempt is cleaned up right after. The timer
 * is unref'd so a probe never keeps the agent's process alive.
 */
function withDeadline(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (finish: (result: ProbeResult) => void) => Attempt,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let attempt: Attempt | undefined;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      attempt?.cleanup();
      resolve(result);
    };
    const onAbort = (): void => finish({ outcome: 'ignore', message: 'check stopped' });
    const timer = setTimeout(
      () => finish(attempt?.timedOut?.() ?? { outcome: 'fail', message: timedOutMessage(timeoutMs) }),
      timerDelay(timeoutMs),
    );
    timer.unref();
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      attempt = start(finish);
    } catch (e) {
      finish({ outcome: 'fail', message: oneLine(e instanceof Error ? e.message : String(e)) });
    }
    // start may have finished synchronously, before `attempt` was assigned.
    if (settled) attempt?.cleanup();
  });
}

/**
 * A COMMAND check run by the task's executor where the task runs (inside
 * its container). At the timeout or stop the runner is told to give up.
 */
function probeInTask(check: HealthCheckSettings, run: TaskCommandRunner, signal?: AbortSignal): Promise<ProbeResult> {
  return withDeadline(check.timeoutMs, signal, (finish) => {
    const giveUp = new AbortController();
    run(check.command, giveUp.signal).then(
      (r) => finish(commandVerdict(r.exitCode, undefined, r.output)),
      (e: unknown) => finish({ outcome: 'fail', message: oneLine(e instanceof Error ? e.message : String(e)) }),
    );
    return { cleanup: () => giveUp.abort() };
  });
}

/** Exit 0 passes; anything else fails, saying how it ended and the first line it wrote. */
function commandVerdict(code: number | undefined, signalName: string | undefined, output: string): ProbeResult {
  if (code === 0) return { outcome: 'pass', message: 'command exited with code 0' };
  const line = firstLine(output);
  const what =
    code !== undefined ? `command exited with code ${code}` : signalName !== undefined ? `command killed by ${signalName}` : 'command ended without an exit code';
  return { outcome: 'fail', message: line === '' ? what : `${what}: ${line}` };
}

/** The verdict on an HTTP status: 200-399 pass, 1xx per ignoreHttp1xx, anything else fails. */
function httpVerdict(status: number, check: HealthCheckSettings): ProbeResult {
  const message = `HTTP ${status} from ${check.path}`;
  if (status >= 200 && status < 400) return { outcome: 'pass', message };
  if (status >= 100 && status < 200 && check.ignoreHttp1xx) return { outcome: 'ignore', message };
  return { outcome: 'fail', message };
}

/**
 * GET http(s)://127.0.0.1:<port><path>, no connection reuse, certificates
 * not verified (tasks commonly serve self-signed ones and the peer is local).
 *
 * node treats 1xx answers as interim (a final answer may follow, as after
 * 103 Early Hints), so a 1xx decides only when nothing final came before
 * the timeout, or when it is 101 (the connection switched protocols: no
 * final answer will come).
 */
function probeHttp(check: HealthCheckSettings, port: number, secure: boolean, signal?: AbortSignal): Promise<ProbeResult> {
  return withDeadline(check.timeoutMs, signal, (finish) => {
    let interim: number | undefined;
    const options: https.RequestOptions = {
      host: '127.0.0.1',
      port,
      path: check.path,
      method: 'GET',
      agent: false,
      headers: { 'user-agent': `drover-agent/${DROVER_VERSION}`, accept: '*/*' },
    };
    const request = secure ? https.request({ ...options, rejectUnauthorized: false }) : http.request(options);
    request.on('information', (info) => {
      interim = info.statusCode;
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      finish(httpVerdict(response.statusCode ?? 101, check));
    });
    request.on('response', (response) => {
      response.on('error', () => undefined);
      response.resume();
      finish(httpVerdict(response.statusCode ?? 0, check));
    });
    request.on('error', (e) => finish({ outcome: 'fail', message: oneLine(e.message) }));
    request.end();
    return {
      cleanup: () => request.destroy(),
      timedOut: () => (interim === undefined ? undefined : httpVerdict(interim, check)),
    };
  });
}

/** A TCP connection to 127.0.0.1:<port> that succeeds in time passes; it is closed at once. */
function probeTcp(check: HealthCheckSettings, port: number, signal?: AbortSignal): Promise<ProbeResult> {
  return withDeadline(check.timeoutMs, signal, (finish) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => finish({ outcome: 'pass', message: `connected to 127.0.0.1:${port}` }));
    socket.once('error', (e) => finish({ outcome: 'fail', message: oneLine(e.message) }));
    return { cleanup: () => socket.destroy() };
  });
}

/**
 * `/bin/sh -c <command>` in the task's sandbox with the task's environment;
 * exit 0 passes. The command leads its own process group, so at the timeout
 * (or stop) one SIGKILL reaches everything it started, and once its shell
 * exits whatever it left behind is killed too: a check leaves nothing running.
 * Output goes to a pipe (unlike tasks' output): a check is short-lived and
 * the first line of its output becomes the failure message. stderr is merged
 * into stdout by an outer shell that then execs the real one (same pid, so
 * the group is still the check's): two pipes would interleave in whatever
 * order they happen to be read, and the first line would be a coin toss.
 */
function probeCommand(check: HealthCheckSettings, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  return withDeadline(check.timeoutMs, signal, (finish) => {
    const child = spawn('/bin/sh', ['-c', 'exec 2>&1; exec /bin/sh -c "$1"', 'drover-health-check', check.command], {
      cwd: target.cwd,
      env: { ...target.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = child.pid;
    // Read before any await, while the pid surely is the shell's.
    const startTime = pid === undefined ? undefined : readProcStatSync(pid)?.startTime;
    let exited = pid === undefined;
    const output: Buffer[] = [];
    let kept = 0;
    const keep = (chunk: Buffer): void => {
      if (kept >= TASK_COMMAND_OUTPUT_BYTES) return;
      output.push(chunk);
      kept += chunk.length;
    };
    child.stdout?.on('data', keep);
    child.once('error', (e) => finish({ outcome: 'fail', message: oneLine(e.message) }));
    child.once('exit', () => {
      exited = true;
      if (pid !== undefined) void killGroupLeftovers(pid, startTime).catch(() => undefined);
    });
    child.once('close', (code, signalName) => finish(commandVerdict(code ?? undefined, signalName ?? undefined, Buffer.concat(output).toString('utf8'))));
    return {
      cleanup: () => {
        if (!exited && pid !== undefined) {
          try {
            signalGroup(pid, 'SIGKILL');
          } catch {
            // Nothing more to do: the group is not ours to signal (EPERM).
          }
        }
        child.stdout?.destroy();
      },
    };
  });
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return oneLine(line);
}
