import type { Logger, TlsMaterial } from '@drover/common';
import type { Leadership } from './leadership/leadership.js';
import type { MasterEpoch } from './leadership/master-epoch.js';

/** Where HA masters keep their state and elect their leader. */
export interface EtcdOptions {
  /** Client URLs of the etcd members (http://host:2379, ...). */
  endpoints: string[];
  /** Key prefix of this cluster's keys; default "/drover". */
  prefix?: string;
  /** TTL of the leader's lease: a dead leader is replaced about this long after it stopped renewing; default 2000 ms. */
  leaseTtlMs?: number;
}

/** How to start a master. dataDir is required without etcd. */
export interface MasterOptions {
  /** Directory for the embedded SQLite state (created if missing); unused with etcd. */
  dataDir: string;
  /**
   * Keep all state in etcd and take part in a leader election with the
   * other masters on the same etcd and prefix (HA). Without it the master
   * is the only one, with its state in SQLite under dataDir.
   */
  etcd?: EtcdOptions;
  /**
   * Host other masters, agents and clients reach this master at (its
   * advertised address); default the host it listens on, or this machine's
   * hostname when it listens on every interface.
   */
  advertiseHost?: string;
  /** Interface the gRPC server binds; default "0.0.0.0" ("127.0.0.1" in dev). */
  grpcHost?: string;
  /** gRPC port for agents and clients; default 5053; 0 picks a free port. */
  grpcPort?: number;
  /** Interface the HTTP server binds; default same as grpcHost. */
  httpHost?: string;
  /** HTTP port (/ping, /metrics); default 5050; 0 picks a free port. */
  httpPort?: number;
  /** An agent silent for longer than this is marked lost (its tasks UNREACHABLE); default 3000 ms. */
  agentLostTimeoutMs?: number;
  /** How often the master pings each agent; default agentLostTimeoutMs / 4. */
  heartbeatIntervalMs?: number;
  /** How long ended tasks stay visible in task lists; default 1 hour. */
  taskHistoryMs?: number;
  /** At most this many ended tasks are kept; default 1000. */
  taskHistoryMax?: number;
  /**
   * An app's launch backoff resets once a task started after its last
   * failure has been RUNNING this long; default 30 000 ms.
   */
  backoffResetMs?: number;
  /**
   * A task of an app without health checks counts as healthy (for
   * deployments and the upgrade strategy) once it has been RUNNING this
   * long; default 5000 ms. Its process starting is all the master hears of
   * it otherwise, and one that dies at start must not count.
   */
  minRunningMs?: number;
  /**
   * CA, certificate and key: gRPC then requires TLS with a client
   * certificate from that CA (mutual TLS), and HTTP is served over TLS.
   * Without it both are plaintext, which the CLI allows only on loopback or
   * with --insecure.
   */
  tls?: TlsMaterial;
  /**
   * Start a new cluster even though the data dir holds a store file without
   * usable state (empty, truncated, damaged); the file is moved aside. Off by
   * default: such a master would take every agent's tasks for strangers.
   */
  forceNewCluster?: boolean;
  /** Root logger; default a pino logger at DROVER_LOG_LEVEL or info. */
  logger?: Logger;
  /**
   * Chooses who leads, given the epoch this master took in its store;
   * default SingleMasterLeadership (always the leader). Given, the master
   * counts as one of several (`ha` in /v2/info): while the leadership says
   * it does not lead, it serves as a standby (client calls refused with the
   * leader's address, agents sent to the leader, REST proxied). Tests pass a
   * ControlledLeadership (testing/controlled-leadership.ts).
   */
  leadership?: (epoch: MasterEpoch) => Leadership;
}

/** A master that is up and serving. */
export interface RunningMaster {
  /** The gRPC port actually bound (useful when 0 was asked). */
  readonly grpcPort: number;
  /** The HTTP port actually bound. */
  readonly httpPort: number;
  /** host:port agents and clients should dial. */
  readonly grpcAddress: string;
  /** The epoch this master stamps on agent commands now (it only grows). */
  readonly epoch: number;
  /** Stops serving and closes the store. Tasks on agents keep running. */
  stop(): Promise<void>;
  /**
   * Settles once the master has stopped, with why: 'stopped' after stop(),
   * or the reason it stopped on its own (its store failed, or it lost the
   * leadership), which a supervisor should answer by starting it again.
   */
  readonly stopped: Promise<string>;
}
