/**
 * The spawner's own program: a small long-lived Node process that starts the
 * agent's task processes and waits for them.
 *
 * Why: fork() copies the page tables of the process that forks, so a spawn
 * from the agent costs more the more memory the agent holds (0.65 ms at
 * 50 MiB, 3.1 ms at 230 MiB when master and agent share a process), and
 * execa adds its own work on top. This process holds a few MiB of heap that
 * do not grow with the agent's, and uses child_process.spawn directly.
 *
 * It is started by spawner.ts as `node -e (source of runSpawner)()`: the
 * function below must not use anything from outside its own body (no
 * imports, no helpers of this module): its text is the whole program, the
 * same whether the agent runs from dist or from source under test. Built-in
 * modules come from process.getBuiltinModule.
 *
 * Each task leader gets its own session and process group (detached), the
 * files for its stdout and stderr, and no stdin. The spawner reports each
 * leader's pid and start time, and later its exit. It ends when its stdin
 * ends (the agent stopped or died); the tasks keep running, reparented to
 * init, and a restarted agent re-adopts them from their checkpoints.
 */
import type { SpawnerMessage, SpawnRequestMessage } from './spawner-protocol.js';

/** The spawner's program (see the top of the file). Self-contained: its source text is run as is. */
export function runSpawner(): void {
  // What ps and /proc/<pid>/comm show instead of this whole program's text.
  process.title = 'drover-spawner';
  const childProcess = process.getBuiltinModule('node:child_process');
  const fs = process.getBuiltinModule('node:fs');
  const send = (message: SpawnerMessage): void => {
    // Writes to a pipe are synchronous on Linux: a reply is out before the next request is read.
    process.stdout.write(`${JSON.stringify(message)}\n`);
  };
  const startTimeOf = (pid: number): number | null => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
      const value = Number(fields[19]);
      return Number.isInteger(value) ? value : null;
    } catch {
      return null;
    }
  };
  const handle = (request: SpawnRequestMessage): void => {
    const fds: number[] = [];
    try {
      for (const file of [request.stdout, request.stderr]) fds.push(fs.openSync(file, 'a', 0o644));
    } catch (e) {
      for (const fd of fds) fs.closeSync(fd);
      const file = fds.length === 0 ? request.stdout : request.stderr;
      send({ t: 'failed', id: request.id, stage: 'open', message: `cannot open ${file}: ${(e as Error).message}` });
      return;
    }
    const [stdout, stderr] = fds as [number, number];
    let child: ReturnType<typeof childProcess.spawn>;
    try {
      const [program, ...args] = request.argv;
      child = childProcess.spawn(program ?? '', args, {
        cwd: request.cwd,
        env: request.env,
        stdio: ['ignore', stdout, stderr],
        detached: true,
      });
    } catch (e) {
      send({ t: 'failed', id: request.id, stage: 'spawn', message: (e as Error).message });
      return;
    } finally {
      // The child holds its own copies from here on.
      for (const fd of fds) fs.closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) {
      // spawn reports ENOENT, EACCES, ... as an 'error' event on the next tick.
      child.once('error', (e) => send({ t: 'failed', id: request.id, stage: 'spawn', message: e.message }));
      return;
    }
    // Before returning to the event loop: the child cannot have been reaped yet, even if it already exited.
    send({ t: 'spawned', id: request.id, pid, startTime: startTimeOf(pid) });
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => send({ t: 'exit', pid, code, signal }));
  };
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line !== '') handle(JSON.parse(line) as SpawnRequestMessage);
    }
  });
  // The agent is gone (stopped, or died): so is the reason to be here. Tasks keep
  // running. setImmediate: spawn failures of the last requests are reported on
  // the next tick, and go out first.
  process.stdin.on('end', () => setImmediate(() => process.exit(0)));
  // Ctrl-C reaches the whole foreground process group; the agent decides when this process ends.
  process.on('SIGINT', () => undefined);
}
