/**
 * What the agent and its spawner (spawner-main.ts) say to each other: one
 * JSON object per line, requests on the spawner's stdin, replies and exits on
 * its stdout. Types only, so the spawner's own code imports nothing of the
 * agent.
 */

/** Starts one task leader. */
export interface SpawnRequestMessage {
  /** Chosen by the agent; the reply carries it back. */
  readonly id: number;
  /** Program and arguments (the program is looked up in env.PATH). */
  readonly argv: readonly string[];
  /** Working directory. */
  readonly cwd: string;
  /** The whole environment (nothing is inherited from the spawner). */
  readonly env: Readonly<Record<string, string>>;
  /** File stdout is appended to (created 0644 if missing). */
  readonly stdout: string;
  /** File stderr is appended to (created 0644 if missing). */
  readonly stderr: string;
}

/** The process runs: its pid and start time (field 22 of /proc/<pid>/stat, read before it can be reaped). */
export interface SpawnedMessage {
  readonly t: 'spawned';
  readonly id: number;
  readonly pid: number;
  readonly startTime: number | null;
}

/** Nothing was started: a log file could not be opened ('open') or spawn failed ('spawn', e.g. "spawn /nope ENOENT"). */
export interface SpawnFailedMessage {
  readonly t: 'failed';
  readonly id: number;
  readonly stage: 'open' | 'spawn';
  readonly message: string;
}

/** A process the spawner started was reaped: its exit code, or the signal that killed it. */
export interface ExitMessage {
  readonly t: 'exit';
  readonly pid: number;
  readonly code: number | null;
  readonly signal: string | null;
}

/** Everything the spawner writes. */
export type SpawnerMessage = SpawnedMessage | SpawnFailedMessage | ExitMessage;
