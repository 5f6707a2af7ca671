/**
 * What a process task is started with, worked out before anything starts:
 * the command line (the task's own, or the join wrapper around it, see
 * isolation/join-wrapper.ts), the environment of its user, and afterwards
 * what its exit status means (a wrapper that could not join the cgroup).
 */
import { promises as fs } from 'node:fs';
import { DroverError } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import type { TaskCgroup } from '../isolation/isolation.js';
import { JOIN_FAILED_EXIT_CODE, JOIN_FAILED_PREFIX, programProblem, type SwitchUser, wrappedCommand } from '../isolation/join-wrapper.js';
import type { TaskUser } from '../isolation/task-user.js';
import { LaunchError, type TaskExit } from './executor.js';

/** PATH the agent looks for setpriv in when its own environment has none. */
const DEFAULT_AGENT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** The program and arguments a spec runs: `cmd` through /bin/sh -c, else `args` directly. */
export function commandLine(spec: TaskSpec): [string, ...string[]] {
  if (spec.cmd !== '') return ['/bin/sh', '-c', spec.cmd];
  const [program, ...rest] = spec.args;
  if (program === undefined || program === '') {
    throw new LaunchError(spec.taskId, 'the task has neither cmd nor args');
  }
  return [program, ...rest];
}

/** Where and as whom a task starts. */
export interface LaunchContext {
  /** The task's environment (PATH decides where its program is found). */
  readonly env: Readonly<Record<string, string>>;
  /** Its working directory. */
  readonly cwd: string;
  /** Its user, when not the agent's. */
  readonly user: TaskUser | undefined;
  /** Its cgroup, when isolated. */
  readonly cgroup: TaskCgroup | undefined;
  /** The agent's PATH, to find setpriv. */
  readonly agentPath: string | undefined;
}

/** What to spawn: the task itself, or the wrapper that joins its cgroup and drops to its user first. */
export async function launchArgv(taskId: string, [program, ...args]: [string, ...string[]], o: LaunchContext): Promise<[string, ...string[]]> {
  if (o.cgroup === undefined && o.user === undefined) return [program, ...args];
  // The wrapper always starts (/bin/sh exists): a missing program must fail the launch here, not exit 127.
  const problem = await programProblem(program, o.env.PATH ?? '', o.cwd);
  if (problem !== undefined) throw new LaunchError(taskId, `spawn ${program} ${problem}`);
  let drop: SwitchUser | undefined;
  if (o.user !== undefined) {
    const setpriv = (o.agentPath ?? DEFAULT_AGENT_PATH).split(':').map((dir) => `${dir}/setpriv`);
    const found = await firstRunnable(setpriv);
    if (found === undefined) {
      throw new LaunchError(taskId, `cannot run the task as ${o.user.name}: setpriv (util-linux) is not on the agent's PATH`);
    }
    drop = { setpriv: found, uid: o.user.uid, gid: o.user.gid };
  }
  return wrappedCommand(o.cgroup?.procsFiles ?? [], drop, program, args);
}

/** HOME, USER and LOGNAME of the task's user, where the app's env does not set them. */
export function userEnvironment(user: TaskUser, appEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  if (appEnv.HOME === undefined) env.HOME = user.home;
  if (appEnv.USER === undefined) env.USER = user.name;
  if (appEnv.LOGNAME === undefined) env.LOGNAME = user.name;
  return env;
}

/** Creates the log files (if missing) so they can be handed to the task's user before it starts. */
export async function createLogs(taskId: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    try {
      await (await fs.open(file, 'a', 0o644)).close();
    } catch (e) {
      throw new LaunchError(taskId, `cannot open ${file}: ${DroverError.from(e).rawMessage}`, e);
    }
  }
}

/**
 * `exit`, marked as a task whose program never ran when the join wrapper
 * gave up: its exit code, and its words at the very start of stderr. A
 * program could forge both, but would only relabel its own failure.
 */
export async function joinFailure(exit: TaskExit, cgroup: TaskCgroup | undefined, stderrPath: string): Promise<TaskExit> {
  if (cgroup === undefined || exit.kind !== 'exited' || exit.exitCode !== JOIN_FAILED_EXIT_CODE) return exit;
  // The shell's own complaint about the write may come first.
  const head = await readHead(stderrPath, 2048).catch(() => '');
  const line = head.split('\n').slice(0, 3).find((l) => l.startsWith(JOIN_FAILED_PREFIX));
  return line === undefined ? exit : { ...exit, notStarted: `cannot isolate the task: ${line.slice('drover: '.length)}` };
}

/** The first of `files` that exists and may be executed. */
async function firstRunnable(files: readonly string[]): Promise<string | undefined> {
  for (const file of files) {
    if ((await programProblem(file, '', '/')) === undefined) return file;
  }
  return undefined;
}

/** The first `bytes` of a file, as text. */
async function readHead(file: string, bytes: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
