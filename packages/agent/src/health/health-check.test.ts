import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultHealthCheckDelaySeconds } from '@drover/common';
import { type AssignedPort, HealthCheck, HealthCheckProtocol } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../executor/proc-stat.js';
import { taskEnvironment } from '../executor/task-environment.js';
import { eventually } from '../testing/fake-master.js';
import { shellTask } from '../testing/task-specs.js';
import { HEALTH_CHECK_DEFAULTS, healthCheckSettings, type ProbeResult, type ProbeTarget, runHealthCheck } from './health-check.js';

const { HEALTH_CHECK_PROTOCOL_HTTP: HTTP, HEALTH_CHECK_PROTOCOL_HTTPS: HTTPS } = HealthCheckProtocol;
const { HEALTH_CHECK_PROTOCOL_TCP: TCP, HEALTH_CHECK_PROTOCOL_COMMAND: COMMAND } = HealthCheckProtocol;

/** Answers by path; "/hang" never answers, "/processing" sends 102 and nothing more. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  switch (req.url) {
    case '/health':
      res.end('ok');
      return;
    case '/moved':
      res.writeHead(302, { location: '/health' }).end();
      return;
    case '/broken':
      res.writeHead(503).end('down');
      return;
    case '/processing':
      res.writeProcessing();
      return;
    case '/early-hints':
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.end('ok');
      return;
    case '/hang':
      return;
    default:
      res.writeHead(404).end();
  }
}

/** Listens on 127.0.0.1 and a free port. */
async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function close(server: http.Server | net.Server): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A port nothing listens on (it was just freed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

const servers: net.Server[] = [];
let dir: string;
let httpPort: number;
let tcpPort: number;
let refusedPort: number;
let switchingPort: number;
let target: ProbeTarget;
const spec = shellTask('sleep 1');

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-health-'));
  const httpServer = http.createServer(handler);
  // Answers any request with 101: the connection leaves HTTP for good.
  const switching = net.createServer((socket) => {
    socket.once('data', () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n'));
    socket.on('error', () => undefined);
  });
  const tcp = net.createServer((socket) => socket.on('error', () => undefined));
  servers.push(httpServer, switching, tcp);
  [httpPort, switchingPort, tcpPort, refusedPort] = await Promise.all([
    listen(httpServer),
    listen(switching),
    listen(tcp),
    closedPort(),
  ]);
  target = { cwd: dir, env: taskEnvironment(spec, { host: 'node-1.test', sandboxDir: dir }) };
});

afterAll(async () => {
  await Promise.all(servers.map(close));
  await fs.rm(dir, { recursive: true, force: true });
});

/** The settings of a check given as a partial proto, for a task whose only port is `port`. */
function check(partial: Partial<HealthCheck>, port: number): ReturnType<typeof healthCheckSettings> {
  return healthCheckSettings(HealthCheck.fromPartial({ timeoutSeconds: 1, ...partial }), [{ number: port, name: '', protocol: 'tcp' }]);
}

describe('health check settings', () => {
  const ports: AssignedPort[] = [
    { number: 31000, name: 'http', protocol: 'tcp' },
    { number: 31001, name: 'admin', protocol: 'tcp' },
  ];
  it.each([
    {
      name: 'an empty check takes Marathon defaults',
      check: {},
      expected: {
        protocol: 'HTTP',
        path: '/',
        port: 31000,
        portIndex: 0,
        gracePeriodMs: 300_000,
        intervalMs: 60_000,
        timeoutMs: 20_000,
        maxConsecutiveFailures: 3,
        // Marathon's own HTTP checks probe at once; only COMMAND (and MESOS_*) checks wait 15 s.
        delayMs: 0,
        ignoreHttp1xx: false,
      },
    },
    { name: 'HTTPS without a delay probes at once', check: { protocol: HTTPS }, expected: { protocol: 'HTTPS', delayMs: 0 } },
    { name: 'TCP without a delay probes at once', check: { protocol: TCP }, expected: { protocol: 'TCP', delayMs: 0 } },
    { name: 'COMMAND without a delay waits 15 s', check: { protocol: COMMAND, command: 'true' }, expected: { protocol: 'COMMAND', delayMs: 15_000 } },
    { name: 'an explicit delay is kept', check: { protocol: TCP, delaySeconds: 2 }, expected: { delayMs: 2_000 } },
    { name: 'port_index picks a task port', check: { portIndex: 1, path: 'status' }, expected: { port: 31001, path: '/status' } },
    { name: 'a fixed port wins', check: { port: 8080, portIndex: 1 }, expected: { port: 8080, portIndex: undefined } },
    { name: 'a port index past the ports', check: { portIndex: 2 }, expected: { port: undefined, portIndex: 2 } },
    { name: 'COMMAND needs no port', check: { protocol: COMMAND, command: 'true' }, expected: { protocol: 'COMMAND', port: undefined } },
    {
      name: 'explicit values, 0 where 0 means something',
      check: { protocol: TCP, gracePeriodSeconds: 0, intervalSeconds: 0.1, timeoutSeconds: 0.05, maxConsecutiveFailures: 0, delaySeconds: 0 },
      expected: { protocol: 'TCP', gracePeriodMs: 0, intervalMs: 100, timeoutMs: 50, maxConsecutiveFailures: 0, delayMs: 0 },
    },
    {
      name: 'nonsense falls back to defaults',
      check: { intervalSeconds: 0, timeoutSeconds: -1, gracePeriodSeconds: Number.NaN, delaySeconds: -5 },
      expected: { intervalMs: 60_000, timeoutMs: 20_000, gracePeriodMs: 300_000, delayMs: 0 },
    },
    { name: 'a nonsense COMMAND delay falls back to 15 s', check: { protocol: COMMAND, command: 'true', delaySeconds: Number.NaN }, expected: { delayMs: 15_000 } },
  ])('$name', ({ check: partial, expected }) => {
    expect(healthCheckSettings(HealthCheck.fromPartial(partial), ports)).toMatchObject(expected);
  });

  it('defaults match COMPAT.md', () => {
    expect(HEALTH_CHECK_DEFAULTS).toMatchObject({ gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20 });
    expect(['HTTP', 'HTTPS', 'TCP', 'COMMAND'].map(defaultHealthCheckDelaySeconds)).toEqual([0, 0, 0, 15]);
  });
});

interface ProbeCase {
  name: string;
  check: () => ReturnType<typeof healthCheckSettings>;
  expected: ProbeResult | { outcome: ProbeResult['outcome']; message: RegExp };
}

describe('health check probes', () => {
  it.each<ProbeCase>([
    { name: 'HTTP 200', check: () => check({ protocol: HTTP, path: '/health' }, httpPort), expected: { outcome: 'pass', message: 'HTTP 200 from /health' } },
    { name: 'HTTP 302 passes', check: () => check({ path: '/moved' }, httpPort), expected: { outcome: 'pass', message: 'HTTP 302 from /moved' } },
    { name: 'HTTP 503', check: () => check({ path: '/broken' }, httpPort), expected: { outcome: 'fail', message: 'HTTP 503 from /broken' } },
    { name: 'HTTP 404 (default path)', check: () => check({}, httpPort), expected: { outcome: 'fail', message: 'HTTP 404 from /' } },
    {
      name: 'HTTP 102 and nothing more fails',
      check: () => check({ path: '/processing', timeoutSeconds: 0.2 }, httpPort),
      expected: { outcome: 'fail', message: 'HTTP 102 from /processing' },
    },
    {
      name: 'HTTP 102 with ignore_http1xx counts as neither',
      check: () => check({ path: '/processing', timeoutSeconds: 0.2, ignoreHttp1xx: true }, httpPort),
      expected: { outcome: 'ignore', message: 'HTTP 102 from /processing' },
    },
    {
      name: 'HTTP 101 fails at once',
      check: () => check({ path: '/ws' }, switchingPort),
      expected: { outcome: 'fail', message: 'HTTP 101 from /ws' },
    },
    {
      name: 'HTTP 101 with ignore_http1xx',
      check: () => check({ path: '/ws', ignoreHttp1xx: true }, switchingPort),
      expected: { outcome: 'ignore', message: 'HTTP 101 from /ws' },
    },
    {
      name: '103 Early Hints then 200 is judged by the 200',
      check: () => check({ path: '/early-hints' }, httpPort),
      expected: { outcome: 'pass', message: 'HTTP 200 from /early-hints' },
    },
    {
      name: 'HTTP connection refused',
      check: () => check({ path: '/health' }, refusedPort),
      expected: { outcome: 'fail', message: /^connect ECONNREFUSED 127\.0\.0\.1:\d+$/ },
    },
    {
      name: 'HTTP server that never answers',
      check: () => check({ path: '/hang', timeoutSeconds: 0.2 }, httpPort),
      expected: { outcome: 'fail', message: 'timed out after 0.2s' },
    },
    {
      name: 'HTTPS against a plain HTTP server fails',
      check: () => check({ protocol: HTTPS, path: '/health' }, httpPort),
      expected: { outcome: 'fail', message: /./ },
    },
    {
      name: 'a port index the task does not have',
      check: () => healthCheckSettings(HealthCheck.fromPartial({ portIndex: 3 }), []),
      expected: { outcome: 'fail', message: 'the task has no port at index 3 to check' },
    },
    { name: 'TCP open', check: () => check({ protocol: TCP }, tcpPort), expected: { outcome: 'pass', message: /^connected to 127\.0\.0\.1:\d+$/ } },
    {
      name: 'TCP closed',
      check: () => check({ protocol: TCP }, refusedPort),
      expected: { outcome: 'fail', message: /^connect ECONNREFUSED 127\.0\.0\.1:\d+$/ },
    },
    {
      name: 'COMMAND exit 0',
      check: () => check({ protocol: COMMAND, command: 'exit 0' }, 0),
      expected: { outcome: 'pass', message: 'command exited with code 0' },
    },
    {
      name: 'COMMAND exit 1, with the first line of its output',
      check: () => check({ protocol: COMMAND, command: 'echo; echo "  not ready yet  " >&2; echo more; exit 1' }, 0),
      expected: { outcome: 'fail', message: 'command exited with code 1: not ready yet' },
    },
    {
      name: 'COMMAND exit 2, silent',
      check: () => check({ protocol: COMMAND, command: 'exit 2' }, 0),
      expected: { outcome: 'fail', message: 'command exited with code 2' },
    },
    {
      name: 'COMMAND sees the task environment',
      check: () => check({ protocol: COMMAND, command: `test "$DROVER_TASK_ID" = "${spec.taskId}" && test "$HOST" = node-1.test` }, 0),
      expected: { outcome: 'pass', message: 'command exited with code 0' },
    },
    {
      name: 'COMMAND runs in the sandbox',
      check: () => check({ protocol: COMMAND, command: 'test "$(pwd -P)" = "$(cd "$DROVER_SANDBOX" && pwd -P)" && touch ran-here' }, 0),
      expected: { outcome: 'pass', message: 'command exited with code 0' },
    },
    {
      name: 'COMMAND killed by a signal',
      check: () => check({ protocol: COMMAND, command: 'kill -TERM $$' }, 0),
      expected: { outcome: 'fail', message: 'command killed by SIGTERM' },
    },
    {
      name: 'COMMAND that hangs',
      check: () => check({ protocol: COMMAND, command: 'sleep 30', timeoutSeconds: 0.2 }, 0),
      expected: { outcome: 'fail', message: 'timed out after 0.2s' },
    },
  ])('$name', async ({ check: makeCheck, expected }) => {
    const result = await runHealthCheck(makeCheck(), target);
    expect(result).toEqual({ outcome: expected.outcome, message: expect.stringMatching(toPattern(expected.message)) });
  });

  it('COMMAND: the sandbox check really ran there', async () => {
    await expect(fs.stat(path.join(dir, 'ran-here'))).resolves.toBeTruthy();
  });

  it('COMMAND: the timeout kills its whole process group', async () => {
    const started = Date.now();
    const result = await runHealthCheck(
      check({ protocol: COMMAND, command: 'sleep 30 & echo $! > hung.pid; wait', timeoutSeconds: 0.3 }, 0),
      target,
    );
    expect(result).toEqual({ outcome: 'fail', message: 'timed out after 0.3s' });
    expect(Date.now() - started).toBeLessThan(2000);
    const pid = Number(await fs.readFile(path.join(dir, 'hung.pid'), 'utf8'));
    await eventually(async () => !(await isProcessAlive(pid, undefined)), 'the background sleep to die', 2000);
  });

  it('COMMAND: what an exited command left running is killed', async () => {
    const result = await runHealthCheck(check({ protocol: COMMAND, command: 'sleep 30 & echo $! > left.pid; exit 0' }, 0), target);
    expect(result.outcome).toBe('pass');
    const pid = Number(await fs.readFile(path.join(dir, 'left.pid'), 'utf8'));
    await eventually(async () => !(await isProcessAlive(pid, undefined)), 'the leftover sleep to die', 2000);
  });

  it.each([
    { name: 'HTTP', make: () => check({ path: '/hang', timeoutSeconds: 10 }, httpPort) },
    { name: 'COMMAND', make: () => check({ protocol: COMMAND, command: 'sleep 30', timeoutSeconds: 10 }, 0) },
  ])('$name: an abort ends a probe at once, as neither pass nor fail', async ({ make }) => {
    const abort = new AbortController();
    const started = Date.now();
    const pending = runHealthCheck(make(), target, abort.signal);
    setTimeout(() => abort.abort(), 50);
    expect(await pending).toEqual({ outcome: 'ignore', message: 'check stopped' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a timeout too long for a timer (3,000,000 s) waits, instead of failing after 1 ms with a TimeoutOverflowWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const abort = new AbortController();
    try {
      const pending = runHealthCheck(check({ path: '/hang', timeoutSeconds: 3_000_000 }, httpPort), target, abort.signal);
      setTimeout(() => abort.abort(), 100);
      expect(await pending).toEqual({ outcome: 'ignore', message: 'check stopped' });
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });
});

const opensslMissing = spawnSync('openssl', ['version']).error !== undefined;
const skipHttps = opensslMissing && process.env.CI === undefined;
if (skipHttps) console.warn('skipping HTTPS health check tests: openssl is not installed (they run when CI is set)');

describe.skipIf(skipHttps)('HTTPS health check probe', () => {
  let server: https.Server;
  let port: number;

  beforeAll(async () => {
    // A throwaway self-signed certificate, as tasks commonly serve.
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k', '-out', 'c', '-days', '1', '-subj', '/CN=localhost'],
      { cwd: dir, stdio: 'ignore' },
    );
    const [key, cert] = await Promise.all([fs.readFile(path.join(dir, 'k')), fs.readFile(path.join(dir, 'c'))]);
    server = https.createServer({ key, cert }, handler);
    port = await listen(server);
  });

  afterAll(async () => {
    if (server !== undefined) await close(server);
  });

  it.each([
    { name: '200 over TLS with a self-signed certificate', path: '/health', expected: { outcome: 'pass', message: 'HTTP 200 from /health' } },
    { name: '503 over TLS', path: '/broken', expected: { outcome: 'fail', message: 'HTTP 503 from /broken' } },
  ])('$name', async ({ path: checkPath, expected }) => {
    expect(await runHealthCheck(check({ protocol: HTTPS, path: checkPath }, port), target)).toEqual(expected);
  });

  it('HTTP against the TLS server fails', async () => {
    expect((await runHealthCheck(check({ protocol: HTTP, path: '/health' }, port), target)).outcome).toBe('fail');
  });
});

function toPattern(message: string | RegExp): RegExp {
  return typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message;
}
