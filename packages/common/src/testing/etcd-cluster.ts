/**
 * Real etcd members for tests: a cluster of one or more `etcd` processes
 * (Debian's etcd-server, installed by scripts/setup-etcd) on loopback, each
 * with its own ports and data dir, stopped by PID. Members can be killed,
 * paused (SIGSTOP) and restarted on their data, which is how tests take
 * quorum away and give it back.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';


/** Where the etcd binary is expected (Debian's etcd-server). */
export const ETCD_BINARY = process.env.DROVER_ETCD_BINARY ?? '/usr/bin/etcd';

/** Why etcd tests cannot run on this machine, or undefined when they can. */
export function etcdUnavailableReason(): string | undefined {
  try {
    execFileSync(ETCD_BINARY, ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${ETCD_BINARY} is not installed (scripts/setup-etcd installs Debian's etcd-server${process.getuid?.() === 0 ? '' : ' as root'})`;
  }
}

/** How to start the members. */
export interface EtcdClusterOptions {
  /** Number of members; default 1. */
  readonly members?: number;
  /** etcd's --heartbeat-interval in ms; default 50 (loopback). */
  readonly heartbeatMs?: number;
  /** etcd's --election-timeout in ms; default 500 (loopback). */
  readonly electionTimeoutMs?: number;
  /** Further flags for every member (for example --max-txn-ops). */
  readonly extraArgs?: readonly string[];
  /** Environment variables for every member (etcd reads each flag as ETCD_<FLAG> too). */
  readonly env?: Readonly<Record<string, string>>;
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  process?: ChildProcess;
}

/** A running etcd cluster on loopback. */
export class EtcdCluster {
  private constructor(
    private readonly root: string,
    private readonly members: Member[],
    private readonly args: readonly string[],
    private readonly env: Readonly<Record<string, string>> = {},
  ) {}

  /** Starts the members and resolves once the cluster answers /health. */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const count = options.members ?? 1;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < count; i++) {
      const name = `m${i}`;
      members.push({ name, clientPort: await freePort(), peerPort: await freePort(), dataDir: path.join(root, name), logFile: path.join(root, `${name}.log`) });
    }
    const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
    const args = [
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=drover-test-${path.basename(root)}`,
      `--heartbeat-interval=${options.heartbeatMs ?? 50}`,
      `--election-timeout=${options.electionTimeoutMs ?? 500}`,
      '--logger=zap',
      '--log-level=warn',
      ...(options.extraArgs ?? []),
    ];
    const cluster = new EtcdCluster(root, members, args, options.env);
    try {
      for (let i = 0; i < count; i++) cluster.startMember(i);
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Client URLs of every member (http://127.0.0.1:port). */
  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  /** The PID of member i, or undefined when it is not running. */
  pid(i: number): number | undefined {
    const child = this.member(i).process;
    return child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** Starts member i (again) on its data dir. */
  startMember(i: number): void {
    const m = this.member(i);
    if (this.pid(i) !== undefined) return;
    const log = fs.openSync(m.logFile, 'a');
    m.process = spawn(
      ETCD_BINARY,
      [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
        ...this.args,
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, ...this.env } },
    );
    fs.closeSync(log);
  }

  /** Sends `signal` to member i (SIGKILL by default) and waits for it to exit. */
  async killMember(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.member(i).process;
    if (child === undefined || this.pid(i) === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  }

  /** Freezes member i (SIGSTOP): it holds its sockets but answers nothing. */
  pauseMember(i: number): void {
    this.member(i).process?.kill('SIGSTOP');
  }

  /** Thaws member i (SIGCONT). */
  resumeMember(i: number): void {
    this.member(i).process?.kill('SIGCONT');
  }

  /** Resolves once every running member says it is healthy (which needs quorum). */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const running = this.members.map((_, i) => i).filter((i) => this.pid(i) !== undefined);
    for (const i of running) {
      let last = 'no answer';
      for (;;) {
        const child = this.member(i).process;
        if (this.pid(i) === undefined) throw new Error(`etcd member ${this.member(i).name} exited (${child?.exitCode ?? child?.signalCode}); log: ${this.logTail(i)}`);
        try {
          const res = await fetch(`${this.endpoints[i]}/health`, { signal: AbortSignal.timeout(1000) });
          const body = (await res.json()) as { health?: string };
          if (body.health === 'true') break;
          last = JSON.stringify(body);
        } catch (error) {
          last = (error as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`etcd member ${this.member(i).name} not healthy after ${timeoutMs} ms (${last}); log: ${this.logTail(i)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** The end of member i's log, for failure messages. */
  logTail(i: number): string {
    try {
      return fs.readFileSync(this.member(i).logFile, 'utf8').slice(-2000);
    } catch {
      return '(no log)';
    }
  }

  /** Kills every member and removes their data. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.killMember(i)));
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (m === undefined) throw new Error(`no etcd member ${i}`);
    return m;
  }
}

