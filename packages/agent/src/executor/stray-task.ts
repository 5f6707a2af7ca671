/**
 * Finding a task's process when no one told the agent its pid. That happens
 * when the spawner dies between starting a task and replying: the process
 * may run, named by nothing the agent kept. Every task leader leads its own
 * session and carries DROVER_TASK_ID in its environment (task-environment.ts),
 * so it is found by scanning /proc for session leaders with that variable.
 * The scan reads every process's environment: it is for the rare death of a
 * spawner, never for the launch path.
 */
import { promises as fs } from 'node:fs';
import { parseProcStat } from './proc-stat.js';
import { signalGroup } from './process-group.js';

/** Pids of the session leaders whose environment says DROVER_TASK_ID=`taskId`. */
export async function taskLeaders(taskId: string): Promise<number[]> {
  const marker = Buffer.from(`\0DROVER_TASK_ID=${taskId}\0`);
  const names = await fs.readdir('/proc').catch(() => [] as string[]);
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const stat = parseProcStat(await fs.readFile(`/proc/${pid}/stat`, 'utf8'));
      // Field 6 (session) is not parsed by parseProcStat; a leader of its own group is what a spawn makes.
      if (stat === undefined || stat.pgrp !== pid) continue;
      // A leading NUL lets the first variable match like every other.
      const environ = Buffer.concat([Buffer.from([0]), await fs.readFile(`/proc/${pid}/environ`)]);
      if (environ.includes(marker)) found.push(pid);
    } catch {
      // Gone meanwhile, or not readable: not ours to kill.
    }
  }
  return found;
}

/** SIGKILLs the process group of every leader of `taskId` (see the top of the file); returns how many. */
export async function killStrayTask(taskId: string): Promise<number> {
  const leaders = await taskLeaders(taskId);
  for (const pid of leaders) signalGroup(pid, 'SIGKILL');
  return leaders.length;
}
