import type { Logger, PortRange, TlsMaterial } from '@drover/common';

/** Resource totals that override what the probe finds. */
export interface ResourceOverrides {
  /** CPU cores to offer. */
  cpus?: number;
  /** Memory to offer, MiB. */
  mem?: number;
  /** Disk to offer, MiB. */
  disk?: number;
  /** GPUs to offer. */
  gpus?: number;
  /** Host port ranges to offer; default 31000-32000. */
  ports?: PortRange[];
}

/** How to start an agent. master and workDir are required. */
export interface AgentOptions {
  /**
   * The masters' gRPC addresses: "h1:5053", "h1,h2,h3" (a host without
   * port means :5053) or an array. Any of them will do: a standby names the
   * leader, and a master lost without a redirect sends the agent to the
   * next one in the list.
   */
  master: string | readonly string[];
  /** Directory for the agent id, checkpoints and task sandboxes (created if missing). */
  workDir: string;
  /** Hostname to report; default os.hostname(). */
  hostname?: string;
  /** Address tasks are reachable at (exported to tasks as HOST); default the hostname. */
  address?: string;
  /** Operator attributes, for example { rack: 'r1', zone: 'a' }. */
  attributes?: Record<string, string>;
  /** Totals to offer instead of the probed ones. */
  resources?: ResourceOverrides;
  /** How often to report machine usage; default 5000 ms. */
  usageIntervalMs?: number;
  /** First reconnect delay after losing the master; default 200 ms, doubling to maxReconnectDelayMs. */
  reconnectDelayMs?: number;
  /** Cap of the reconnect delay; default 5000 ms. */
  maxReconnectDelayMs?: number;
  /** Rotate a task's stdout/stderr once it is larger than this; default 10 MiB. */
  logMaxBytes?: number;
  /** Files kept per stream, the live one included (stdout, stdout.1, stdout.2); default 3. */
  logFiles?: number;
  /** How often log sizes are checked (one stat per file); default 2000 ms. */
  logCheckIntervalMs?: number;
  /** Remove a finished task's sandbox once nothing in it changed for this long; default 7 days. */
  sandboxMaxAgeMs?: number;
  /** Keep all sandboxes under this many bytes by removing the oldest finished ones; default 10 GiB. */
  sandboxMaxTotalBytes?: number;
  /** How often finished sandboxes are collected; default 5 minutes. */
  sandboxGcIntervalMs?: number;
  /** How often a followed file is looked at for new bytes; default 250 ms. */
  followPollMs?: number;
  /** Certificates to dial the master with (mutual TLS); default plaintext (loopback / dev). */
  tls?: TlsMaterial;
  /** Root logger; default a pino logger at DROVER_LOG_LEVEL or info. */
  logger?: Logger;
  /** The Docker daemon's unix socket, for container tasks; default /var/run/docker.sock. */
  dockerSocket?: string;
  /** Run containers that ask for `privileged` (or cap-add, device, security-opt); default false. */
  allowPrivileged?: boolean;
  /** Mount absolute volume host paths into containers; default false (sandbox-relative ones only). */
  allowHostVolumes?: boolean;
  /** A task's artifact download fails when no data arrived for this long; default 60000 ms. */
  fetchIdleTimeoutMs?: number;
  /**
   * Cap on the processes and threads of each task (cgroup pids.max); default
   * 4096. Generous on purpose: a runtime at the cap tends to hang rather than
   * fail (Node alone starts about 11 threads).
   */
  pidsLimit?: number;
  /** Where cgroup hierarchies are mounted; default /sys/fs/cgroup (tests point it elsewhere). */
  cgroupRoot?: string;
  /**
   * Where the kernel says which boot this is; default
   * /proc/sys/kernel/random/boot_id (tests point it at a file they change
   * to play a machine restart). See checkpoint/boot-id.ts.
   */
  bootIdFile?: string;
}

/** An agent that is up (it may still be connecting to its master). */
export interface RunningAgent {
  /** The agent's durable id; undefined until the first registration succeeds. */
  readonly id: string | undefined;
  /** The work dir in use (absolute). */
  readonly workDir: string;
  /** Resolves once the agent is registered with a master (the first time). */
  registered(): Promise<string>;
  /**
   * Disconnects and stops timers. Tasks keep running (a restarted agent
   * re-adopts them) unless killTasks is set, which kills every task first
   * and waits for them to end.
   */
  stop(options?: { killTasks?: boolean }): Promise<void>;
}
