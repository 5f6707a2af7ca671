/**
 * A highly available Drover cluster as separate OS processes, the way it is
 * deployed: three etcd members, three masters on them (`drover master
 * --etcd`), and agents given every master. Masters and agents can be killed
 * (kill -9), frozen (SIGSTOP) and started again; the leader is found the way
 * a client finds it, by asking any master (GET /v2/leader).
 */
import path from 'node:path';
import { EtcdCluster, freePort } from '@drover/common/testing';
import { ETCD_MEMBER_FLAGS } from '@drover/master';
import { type CliResult, DroverServer, drover } from './drover-process.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait.js';

/** One master process and where it listens. */
export interface HaMaster {
  readonly index: number;
  readonly grpc: string;
  readonly http: string;
  readonly server: DroverServer;
}

/** How to build the cluster. */
export interface HaClusterOptions {
  /** Number of agents; default 2. */
  readonly agents?: number;
  /** The masters' --lost-timeout; default 5s. */
  readonly lostTimeout?: string;
  /** The masters' --lease-ttl; default 2s (the default of drover master). */
  readonly leaseTtl?: string;
  /** Resources each agent offers. */
  readonly resources?: string;
}

/** A running HA cluster. */
export class HaCluster {
  private constructor(
    readonly root: string,
    readonly etcd: EtcdCluster,
    readonly masters: readonly HaMaster[],
    readonly agents: readonly DroverServer[],
  ) {}

  /** Starts etcd, three masters and the agents; resolves once a leader serves and every agent is ACTIVE. */
  static async start(options: HaClusterOptions = {}): Promise<HaCluster> {
    const root = tempDir('e2e-ha');
    const etcd = await EtcdCluster.start({ members: 3, extraArgs: ETCD_MEMBER_FLAGS });
    const masters: HaMaster[] = [];
    for (let i = 0; i < 3; i++) {
      const grpcPort = await freePort();
      const httpPort = await freePort();
      const args = [
        'master',
        '--host',
        '127.0.0.1',
        '--grpc-port',
        String(grpcPort),
        '--http-port',
        String(httpPort),
        '--etcd',
        etcd.endpoints.join(','),
        '--etcd-prefix',
        '/drover-e2e',
        '--lost-timeout',
        options.lostTimeout ?? '5s',
        '--lease-ttl',
        options.leaseTtl ?? '2s',
      ];
      masters.push({ index: i, grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}`, server: new DroverServer(`master-${i}`, args, path.join(root, `master-${i}.log`)).start() });
    }
    const list = masters.map((m) => m.grpc).join(',');
    const agents: DroverServer[] = [];
    for (let i = 0; i < (options.agents ?? 2); i++) {
      agents.push(
        new DroverServer(
          `agent-${i}`,
          ['agent', '--master', list, '--work-dir', path.join(root, `agent-${i}`), '--hostname', `node-${i}`, '--resources', options.resources ?? `cpus=4,mem=4096,disk=1024,ports=${32000 + i * 100}-${32099 + i * 100}`],
          path.join(root, `agent-${i}.log`),
        ).start(),
      );
    }
    const cluster = new HaCluster(root, etcd, masters, agents);
    try {
      await cluster.leader(30_000);
      await waitFor(
        'every agent ACTIVE',
        () => cluster.json<{ state: string }[]>('agent', 'list'),
        (as) => as.filter((a) => a.state === 'AGENT_STATE_ACTIVE').length === agents.length,
        30_000,
      );
    } catch (error) {
      // Nothing started here may outlive a cluster that never came up.
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Starts every master whose process ended (as its supervisor would); returns how many. */
  reviveMasters(): number {
    const dead = this.masters.filter((m) => !m.server.running);
    for (const m of dead) m.server.start();
    return dead.length;
  }

  /** DROVER_MASTER for clients: every master. */
  get masterList(): string {
    return this.masters.map((m) => m.grpc).join(',');
  }

  /** Runs the CLI against every master (it finds the leader). */
  cli(...args: string[]): Promise<CliResult> {
    return drover(args, { DROVER_MASTER: this.masterList });
  }

  /** Runs the CLI with --json and parses its output; throws with stderr when it fails. */
  async json<T>(...args: string[]): Promise<T> {
    const result = await this.cli(...args, '--json');
    if (result.code !== 0) throw new Error(`drover ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /** What one master says of the leader (its HTTP address), or undefined when it says none or does not answer. */
  async leaderSeenBy(m: HaMaster): Promise<string | undefined> {
    try {
      const res = await fetch(`http://${m.http}/v2/leader`, { signal: AbortSignal.timeout(1000) });
      if (res.status !== 200) return undefined;
      return ((await res.json()) as { leader: string }).leader;
    } catch {
      return undefined;
    }
  }

  /** The leading master, once every running master agrees on it and it answers as leader. */
  async leader(timeoutMs = 15_000, not?: HaMaster): Promise<HaMaster> {
    const found = await waitFor(
      not ? `a leader other than master-${not.index}` : 'a leader',
      async () => {
        // Every master that answers must name the same leader (a frozen or
        // dead one answers nothing), and at least two must answer.
        const asked = this.masters.filter((m) => m.server.running && m !== not);
        const seen = (await Promise.all(asked.map((m) => this.leaderSeenBy(m)))).filter((s) => s !== undefined);
        const leader = this.masters.find((m) => m.http === seen[0]);
        if (leader === undefined || seen.length < 2 || !seen.every((s) => s === leader.http) || leader === not) return undefined;
        const info = (await (await fetch(`http://${leader.http}/v2/info`, { signal: AbortSignal.timeout(1000) })).json()) as { elected: boolean };
        return info.elected ? leader : undefined;
      },
      (m) => m !== undefined,
      timeoutMs,
    );
    return found as HaMaster;
  }

  /**
   * Stops everything. Apps are deleted first, so their tasks' processes end
   * (an agent that stops leaves its tasks running, by design).
   */
  async stop(): Promise<void> {
    try {
      const apps = await this.json<{ spec: { id: string } }[]>('app', 'list');
      for (const app of apps) await this.cli('app', 'delete', app.spec.id, '--force');
      await waitFor('every task ended', () => this.json<unknown[]>('task', 'list'), (ts) => ts.length === 0, 20_000);
    } catch (error) {
      console.warn(`HaCluster.stop: could not delete apps first: ${(error as Error).message}`);
    }
    await Promise.all(this.agents.map((a) => a.kill('SIGTERM')));
    await Promise.all(this.masters.map((m) => m.server.kill('SIGTERM')));
    await this.etcd.stop();
  }
}
