/**
 * The command line that starts a task inside its cgroup, and as its user.
 *
 * Why a wrapper: a process the agent spawns and then moves into a cgroup
 * runs outside it for a moment, long enough to fork children that stay
 * outside or to allocate memory that is never limited. Instead /bin/sh
 * starts first, writes its own pid ($$) into each cgroup.procs (one per v1
 * hierarchy) and only then execs the task: the task's first instruction runs
 * in the cgroup, and so does everything it forks. exec keeps the pid, the
 * session, the process group and the open stdout/stderr files, so the
 * executor sees no difference, and need not wait for the joins: the program
 * cannot run before they are done. If a join fails the wrapper exits 125
 * before the task's program ever runs, saying why as the first line of the
 * task's stderr; the executor reports that as a failed launch.
 *
 * Why setpriv: joining a cgroup needs root (v2 even wants write access to
 * the cgroup the process leaves), so the wrapper runs as the agent and
 * drops to the task's user last, through setpriv (util-linux), which also
 * sets the user's supplementary groups (Node's own uid/gid spawn options
 * drop them all).
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';

/** Exit code of the wrapper when the task could not join its cgroup. */
export const JOIN_FAILED_EXIT_CODE = 125;

/** How the wrapper's line on stderr starts when a join fails (the rest names the cgroup.procs file). */
export const JOIN_FAILED_PREFIX = 'drover: cannot move the task into ';

const SCRIPT = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  `  echo $$ > "$1" || { echo "${JOIN_FAILED_PREFIX}$1" >&2; exit ${JOIN_FAILED_EXIT_CODE}; }`,
  '  shift; n=$((n - 1))',
  'done',
  'exec "$@"',
].join('\n');

/** Who the task runs as, when not as the agent. */
export interface SwitchUser {
  /** Absolute path of the setpriv program. */
  readonly setpriv: string;
  /** User id. */
  readonly uid: number;
  /** Primary group id. */
  readonly gid: number;
}

/** The argv that runs `program args` after joining `procsFiles`, as `user` when given. */
export function wrappedCommand(
  procsFiles: readonly string[],
  user: SwitchUser | undefined,
  program: string,
  args: readonly string[],
): [string, ...string[]] {
  const drop = user === undefined ? [] : [user.setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--'];
  return ['/bin/sh', '-c', SCRIPT, 'drover-join', String(procsFiles.length), ...procsFiles, ...drop, program, ...args];
}

/** Why a program cannot be started, in spawn's words ("ENOENT", "EACCES"). */
export type ProgramProblem = 'ENOENT' | 'EACCES';

/**
 * Checks that `program` can be executed as execvp would find it (a name with
 * a slash relative to `cwd`, else searched in `searchPath`). A task started
 * through the wrapper always spawns (/bin/sh exists), so without this check a
 * missing program would show up as exit code 127 instead of a failed launch.
 */
export async function programProblem(program: string, searchPath: string, cwd: string): Promise<ProgramProblem | undefined> {
  const candidates = program.includes('/')
    ? [path.resolve(cwd, program)]
    : searchPath.split(':').map((dir) => path.resolve(cwd, dir === '' ? '.' : dir, program));
  let problem: ProgramProblem = 'ENOENT';
  for (const file of candidates) {
    try {
      if (!(await fs.stat(file)).isFile()) {
        problem = 'EACCES';
        continue;
      }
      await fs.access(file, fsConstants.X_OK);
      return undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EACCES') problem = 'EACCES';
    }
  }
  return problem;
}
