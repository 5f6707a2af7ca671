/**
 * A CliRuntime whose master and agent are fakes that record what they were
 * asked, so the long-running commands (dev, master, agent) are tested
 * without SQLite, executors or signals.
 */
import type { AgentOptions, RunningAgent } from '@drover/agent';
import type { MasterOptions, RunningMaster } from '@drover/master';
import type { CliRuntime } from '../cli-context.js';

/** What a fake runtime saw, and the levers a test pulls. */
export interface FakeRuntime {
  /** The runtime to pass to run(). */
  runtime: CliRuntime;
  /** "master.start", "agent.start", "agent.registered", "agent.stop", "master.stop", in order. */
  events: string[];
  /** Options of every startMaster call. */
  masterOptions: MasterOptions[];
  /** Options of every startAgent call. */
  agentOptions: AgentOptions[];
  /** Each hold and release of the young generation, with the event it came after ("-" before any). */
  heap: string[];
}

/** How the fakes behave. */
export interface FakeRuntimeOptions {
  /** Make startMaster fail with this error. */
  masterFails?: Error;
  /** Make startAgent fail with this error. */
  agentFails?: Error;
  /** Never register the agent (it keeps "connecting"). */
  agentNeverRegisters?: boolean;
}

/** A runtime that sends SIGINT once the agent registered (or right away if it never will). */
export function fakeRuntime(options: FakeRuntimeOptions = {}): FakeRuntime {
  const events: string[] = [];
  const masterOptions: MasterOptions[] = [];
  const agentOptions: AgentOptions[] = [];
  const heap: string[] = [];
  const after = () => events.at(-1) ?? '-';
  let sendStop: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (sendStop = resolve));
  // A macrotask later, so the command has printed whatever follows the event.
  const stopSoon = () => setTimeout(() => sendStop('SIGINT'), 5);

  const runtime: CliRuntime = {
    async startMaster(o) {
      events.push('master.start');
      masterOptions.push(o);
      if (options.masterFails) throw options.masterFails;
      const grpcPort = o.grpcPort ?? 5053;
      const master: RunningMaster = {
        grpcPort,
        httpPort: o.httpPort ?? 5050,
        grpcAddress: `127.0.0.1:${grpcPort}`,
        epoch: 1,
        stop: async () => void events.push('master.stop'),
        stopped: new Promise<string>(() => undefined),
      };
      return master;
    },
    async startAgent(o) {
      events.push('agent.start');
      agentOptions.push(o);
      if (options.agentFails) throw options.agentFails;
      const agent: RunningAgent = {
        id: undefined,
        workDir: o.workDir,
        registered: () => {
          if (options.agentNeverRegisters) {
            stopSoon();
            return new Promise<string>(() => undefined);
          }
          events.push('agent.registered');
          stopSoon();
          return Promise.resolve('agent-1');
        },
        stop: async () => void events.push('agent.stop'),
      };
      return agent;
    },
    holdYoungGeneration() {
      heap.push(`hold after ${after()}`);
      let held = true;
      return () => {
        if (held) heap.push(`release after ${after()}`);
        held = false;
      };
    },
    waitForStop: () => stopped,
  };
  return { runtime, events, masterOptions, agentOptions, heap };
}
