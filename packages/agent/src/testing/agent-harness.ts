/**
 * Test fixture for whole-agent tests: fake masters, agents on temp work
 * dirs, and a cleanup that kills every task process group any master heard
 * of, stops agents and masters, and removes the dirs. Not exported from the
 * package index.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type TaskStateName } from '@drover/common';
import {
  type HealthStateName,
  healthStateCodec,
  type TaskReasonName,
  taskReasonCodec,
  type TaskStatus,
  taskStateCodec,
} from '@drover/proto';
import { startAgent } from '../agent.js';
import type { AgentOptions, RunningAgent } from '../agent-options.js';
import { signalGroup } from '../executor/process-group.js';
import { CHECKPOINT_FILE } from '../sandbox/sandbox.js';
import { sweepAgentCgroups } from './cgroup-sweep.js';
import { eventually, FakeMaster, type FakeMasterOptions } from './fake-master.js';

/** A status with short names, for readable assertions. */
export interface ReadableStatus {
  state: TaskStateName | undefined;
  reason: TaskReasonName | undefined;
  message: string;
  pid: number;
  exitCode: number | undefined;
  signal: string;
  uuid: string;
  /** The stderr tail as text ('' unless terminal). */
  stderrTail: string;
  /** Health; undefined for a task without health checks. */
  health: HealthStateName | undefined;
  /** Consecutive counted health check failures. */
  healthFailures: number;
  /** Failures reached max_consecutive_failures. */
  healthFailed: boolean;
  /** The last health check failure. */
  healthMessage: string;
}

/** Short-name view of a TaskStatus. */
export function readable(status: TaskStatus): ReadableStatus {
  return {
    state: taskStateCodec.name(status.state),
    reason: taskReasonCodec.name(status.reason),
    message: status.message,
    pid: status.pid,
    exitCode: status.exitCode,
    signal: status.signal,
    uuid: status.uuid,
    stderrTail: status.stderrTail.toString(),
    health: healthStateCodec.name(status.health),
    healthFailures: status.healthFailures,
    healthFailed: status.healthFailed,
    healthMessage: status.healthMessage,
  };
}

/**
 * Makes a stopped agent's checkpoint of `taskId` look as if the agent had
 * died in the middle of the launch: the task started, but its handle (pid,
 * container id) was never recorded.
 */
export async function forgetHandle(workDir: string, taskId: string): Promise<void> {
  const file = path.join(workDir, 'tasks', taskId, CHECKPOINT_FILE);
  const checkpoint = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  delete checkpoint.handle;
  await fs.writeFile(file, JSON.stringify(checkpoint));
}

/** Owns the masters, agents, work dirs and processes of one test. */
export class AgentHarness {
  private readonly masters: FakeMaster[] = [];
  private readonly agents: RunningAgent[] = [];
  private readonly dirs: string[] = [];
  private readonly pids = new Set<number>();

  /** Starts a fake master that is stopped at cleanup. */
  async master(options: FakeMasterOptions = {}): Promise<FakeMaster> {
    const master = await FakeMaster.start(options);
    this.masters.push(master);
    return master;
  }

  /** A fresh temp work dir, removed at cleanup. */
  async workDir(): Promise<string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-agent-'));
    this.dirs.push(dir);
    return dir;
  }

  /** Starts an agent with fast reconnects and fixed resources (no probe); `extra` overrides anything. */
  async agent(master: FakeMaster, workDir: string, extra: Partial<AgentOptions> = {}): Promise<RunningAgent> {
    const agent = await startAgent({
      master: master.address,
      workDir,
      hostname: 'node-1.test',
      address: '10.0.0.1',
      attributes: { rack: 'r1' },
      resources: { cpus: 4, mem: 2048, disk: 4096 },
      reconnectDelayMs: 20,
      maxReconnectDelayMs: 100,
      usageIntervalMs: 60_000,
      logger: silentLogger(),
      ...extra,
    });
    this.agents.push(agent);
    return agent;
  }

  /** Every status `master` received about `taskId`, readable. */
  statuses(master: FakeMaster, taskId: string): ReadableStatus[] {
    const found = master.statuses.filter((s) => s.taskId === taskId).map(readable);
    for (const s of found) if (s.pid > 0) this.pids.add(s.pid);
    return found;
  }

  /** Waits until `master` received a status of `taskId` in `state`; returns it. */
  async reached(master: FakeMaster, taskId: string, state: TaskStateName, timeoutMs = 5000): Promise<ReadableStatus> {
    return eventually(() => this.statuses(master, taskId).find((s) => s.state === state), `${taskId} ${state}`, timeoutMs);
  }

  /** Records a task process group to kill at cleanup. */
  track(pid: number): void {
    if (pid > 0) this.pids.add(pid);
  }

  /** Kills every known task process group, stops agents and masters, removes work dirs. */
  async cleanup(): Promise<void> {
    for (const m of this.masters) for (const s of m.statuses) this.track(s.pid);
    for (const m of this.masters) for (const c of m.connections) for (const s of c.register?.tasks ?? []) this.track(s.pid);
    for (const pid of this.pids) signalGroup(pid, 'SIGKILL');
    await Promise.all(this.agents.splice(0).map((a) => a.stop()));
    for (const m of this.masters.splice(0)) m.stop();
    for (const d of this.dirs) await sweepAgentCgroups(d);
    await Promise.all(this.dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
    this.pids.clear();
  }
}
