/**
 * A master and real agents in the test's own process, over real gRPC on
 * loopback, with the real client; everything under one temp dir.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type AgentOptions, type RunningAgent, startAgent } from '@drover/agent';
import { DroverClient } from '@drover/client';
import { type PortRange, silentLogger } from '@drover/common';
import { type RunningMaster, startMaster } from '@drover/master';
import { tempDir } from './temp-dir.js';

/** One agent to start. */
export interface AgentPlan {
  readonly hostname: string;
  readonly ports: PortRange;
  readonly cpus?: number;
  readonly mem?: number;
  readonly attributes?: Record<string, string>;
  /** Any other agent option (log rotation, sandbox limits, ...). */
  readonly options?: Partial<AgentOptions>;
}

/** A running in-process cluster. */
export interface InProcessCluster {
  readonly root: string;
  readonly master: RunningMaster;
  readonly agents: readonly RunningAgent[];
  readonly client: DroverClient;
  /** Kills every task, stops agents and master, removes the temp dir. */
  stop(): Promise<void>;
}

/** Starts a master and the planned agents, and waits until every agent registered. */
export async function startInProcessCluster(name: string, plans: readonly AgentPlan[], lostTimeoutMs = 10_000): Promise<InProcessCluster> {
  const root = tempDir(name);
  const master = await startMaster({
    dataDir: path.join(root, 'master'),
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    agentLostTimeoutMs: lostTimeoutMs,
    logger: silentLogger(),
  });
  const agents: RunningAgent[] = [];
  for (const plan of plans) {
    const agent = await startAgent({
      master: master.grpcAddress,
      workDir: path.join(root, plan.hostname),
      hostname: plan.hostname,
      attributes: plan.attributes,
      resources: { cpus: plan.cpus ?? 2, mem: plan.mem ?? 2048, disk: 1024, ports: [plan.ports] },
      logger: silentLogger(),
      ...plan.options,
    });
    await agent.registered();
    agents.push(agent);
  }
  const client = new DroverClient(master.grpcAddress);
  return {
    root,
    master,
    agents,
    client,
    async stop() {
      client.close();
      for (const a of agents) await a.stop({ killTasks: true });
      await master.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
