/**
 * The built `drover` against real masters (one plaintext, one with mutual
 * TLS), for what only a real process shows: a reader that closes the pipe
 * (EPIPE), the hints for the usual connection mistakes as grpc-js really
 * reports them, a second server on a taken port, and no Node warnings.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DROVER_BIN, DroverServer, drover, freePort, REPO, requireBuiltCli } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
let root: string;
let certs: string;
let plain: DroverServer;
let secure: DroverServer;
let plainGrpc: string;
let plainHttp: string;
let secureGrpc: string;

const tlsFlags = (who: string) => ['--tls-ca', path.join(certs, 'ca.crt'), '--tls-cert', path.join(certs, `${who}.crt`), '--tls-key', path.join(certs, `${who}.key`)];

/** What a drover process whose stdout reader went away left behind. */
interface PipeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  firstChunk: string;
}

/**
 * Runs drover with stdout on a pipe whose read end this side closes: at once
 * (`afterFirstChunk` false) or once the first output arrived, calling
 * `poke` until then and once after, so drover has something more to write.
 */
function runWithClosedPipe(args: string[], afterFirstChunk: boolean, poke: () => Promise<unknown> = async () => undefined): Promise<PipeRun> {
  const child = spawn(process.execPath, [DROVER_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let firstChunk = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<PipeRun>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr, firstChunk })));
  if (!afterFirstChunk) {
    child.stdout.destroy();
    return exited;
  }
  let gotFirst = false;
  child.stdout.once('data', (d: Buffer) => {
    firstChunk = d.toString();
    gotFirst = true;
    child.stdout.destroy();
  });
  return (async () => {
    const deadline = Date.now() + 30_000;
    while (!gotFirst && Date.now() < deadline) {
      await poke();
      await new Promise((r) => setTimeout(r, 300));
    }
    // Something more to write into the closed pipe.
    await poke();
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const result = await exited;
    clearTimeout(timer);
    return { ...result, firstChunk };
  })();
}

beforeAll(async () => {
  requireBuiltCli();
  root = tempDir('cli-papercuts');
  certs = path.join(root, 'certs');
  await run('bash', [path.join(REPO, 'scripts/gen-certs'), certs, '--agent', 'node-1']);
  const [pg, ph, sg, sh] = [await freePort(), await freePort(), await freePort(), await freePort()];
  plainGrpc = `127.0.0.1:${pg}`;
  plainHttp = `127.0.0.1:${ph}`;
  secureGrpc = `127.0.0.1:${sg}`;
  const master = (name: string, grpc: number, http: number, extra: string[] = []) =>
    new DroverServer(
      name,
      ['master', '--data-dir', path.join(root, name), '--host', '127.0.0.1', '--grpc-port', String(grpc), '--http-port', String(http), ...extra],
      path.join(root, `${name}.log`),
    ).start();
  plain = master('plain', pg, ph);
  secure = master('secure', sg, sh, tlsFlags('master'));
  await waitFor('the plaintext master', () => drover(['cluster', 'info', '--master', plainGrpc]), (r) => r.code === 0, 20_000);
  await waitFor('the TLS master', () => drover(['cluster', 'info', '--master', secureGrpc, ...tlsFlags('client')]), (r) => r.code === 0, 20_000);
});

afterAll(async () => {
  await plain?.kill('SIGTERM');
  await secure?.kill('SIGTERM');
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('a reader that closes the pipe early (drover ... | head)', () => {
  it('--help exits 0 without a stack trace', async () => {
    const result = await runWithClosedPipe(['--help'], false);
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
  });

  it('drover events stops following and exits 0 without a stack trace', async () => {
    const spec = path.join(root, 'app.json');
    let version = 0;
    // Every deploy of a changed spec is an event (api_post_event, deployment_info...).
    const deploy = () => {
      fs.writeFileSync(spec, JSON.stringify({ id: '/pipe/app', cmd: 'sleep 600', cpus: 0.1, mem: 16, env: { V: String(++version) } }));
      return drover(['app', 'deploy', spec, '--detach', '--force', '--master', plainGrpc]);
    };
    const result = await runWithClosedPipe(['events', '--master', plainGrpc], true, deploy);
    expect(result.firstChunk).not.toBe('');
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
  });
});

describe('connection mistakes come with a hint', () => {
  it.each([
    {
      name: "the master's HTTP port given as its gRPC port",
      args: () => ['cluster', 'info', '--master', plainHttp],
      stderr: () => new RegExp(`^error: cannot reach the master at ${plainHttp}: Protocol error\\nhint: .*often the master's HTTP port \\(default 5050\\): give its gRPC port`),
    },
    {
      name: 'a TLS master dialed without certificates',
      args: () => ['cluster', 'info', '--master', secureGrpc],
      stderr: () => new RegExp(`^error: cannot reach the master at ${secureGrpc}: Failed to connect\\nhint: .*requires TLS.*: give --tls-ca, --tls-cert and --tls-key`),
    },
    {
      name: 'a plaintext master dialed with certificates',
      args: () => ['cluster', 'info', '--master', plainGrpc, ...tlsFlags('client')],
      stderr: () => /\nhint: no TLS server answered there/,
    },
  ])('$name', async ({ args, stderr }) => {
    const result = await drover(args());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(stderr());
  });

  it('a second server on a taken port names the flag to change', async () => {
    const result = await drover(['dev', '--data-dir', path.join(root, 'dev'), '--grpc-port', plainGrpc.split(':')[1] as string, '--http-port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^error: cannot listen on ${plainGrpc} \\(gRPC\\): the port is in use\\nhint: .*pass --grpc-port to use another port`));
  });
});

describe('exit codes', () => {
  it.each([
    { name: 'task list for an app that does not exist', args: ['task', 'list', '--app', 'nosuch'], code: 1, stderr: 'error: no app /nosuch\n' },
    { name: 'deploying a file that does not exist', args: ['app', 'deploy', 'missing.yaml'], code: 2, stderr: 'error: cannot read missing.yaml: no such file\n' },
  ])('$name exits $code', async ({ args, code, stderr }) => {
    expect(await drover([...args, '--master', plainGrpc])).toEqual({ code, stdout: '', stderr });
  });
});

describe('Node warnings', () => {
  it('dialing a TLS master by IP prints no DEP0123 (or any) warning', async () => {
    const result = await drover(['cluster', 'info', '--master', secureGrpc, ...tlsFlags('client')]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });
  it('an agent dialing a TLS master by IP registers and prints no DEP0123 warning', async () => {
    const agent = new DroverServer(
      'agent',
      [
        'agent',
        '--master',
        secureGrpc,
        '--work-dir',
        path.join(root, 'agent'),
        // Its certificate names the machine it may register as.
        '--hostname',
        'node-1',
        '--resources',
        'cpus=1,mem=256,ports=32500-32510',
        ...tlsFlags('agent-node-1'),
      ],
      path.join(root, 'agent.log'),
    ).start();
    try {
      await waitFor('the agent to register over TLS', async () => agent.log(), (log) => log.includes('registered as agent'), 20_000);
      expect(agent.log()).not.toMatch(/DEP0123|DeprecationWarning/);
    } finally {
      await agent.kill('SIGTERM');
    }
  });
});
