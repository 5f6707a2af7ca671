/**
 * Running a task as the OS user its spec names. The user is looked up
 * through `getent passwd` (so LDAP and other NSS sources count, as they do
 * for login), falling back to /etc/passwd where getent is missing. Only a
 * root agent can run tasks as someone else; a non-root agent runs tasks as
 * itself and refuses any other user rather than silently ignoring it.
 *
 * The sandbox is handed to the user so the task can write in its own working
 * directory. Symlinks are never followed: a task (or a fetched archive)
 * could otherwise make the agent hand it any file on the machine. The
 * agent's checkpoint file stays root's, but owning the directory the task
 * can still delete or replace it; recovery therefore trusts no cgroup path
 * from a checkpoint other than the one the agent would give that task
 * (CgroupIsolator.reopen). Keeping checkpoints outside the sandbox would
 * close this for the rest of the checkpoint too.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, DroverError } from '@drover/common';
import { CHECKPOINT_FILE } from '../sandbox/sandbox.js';

/** An OS user a task runs as. */
export interface TaskUser {
  /** Login name. */
  readonly name: string;
  /** User id. */
  readonly uid: number;
  /** Primary group id. */
  readonly gid: number;
  /** Home directory (exported as HOME unless the app sets it). */
  readonly home: string;
}

/** Who the agent runs as. */
export interface AgentIdentity {
  /** The agent's user id (0: root). */
  readonly uid: number;
  /** Its login name, for messages. */
  readonly name: string;
}

/** A task cannot run as the user it names. */
export class TaskUserError extends DroverError {
  override name = 'TaskUserError';
  constructor(
    /** The user the task asked for. */
    readonly user: string,
    message: string,
    code: Code,
  ) {
    super(message, code);
  }
}

/** Login names as useradd accepts them (and never an option to getent). */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}\$?$/;

/** The identity of this agent process. */
export function agentIdentity(): AgentIdentity {
  const info = os.userInfo();
  return { uid: info.uid, name: info.username };
}

/**
 * The user a task with `requested` runs as: undefined when that is the
 * agent's own user ("" or the agent's name), else the looked-up user.
 * Throws TaskUserError when the user does not exist or the agent may not
 * switch to it.
 */
export async function taskUser(requested: string, agent: AgentIdentity = agentIdentity()): Promise<TaskUser | undefined> {
  if (requested === '') return undefined;
  if (!USER_NAME.test(requested)) {
    throw new TaskUserError(requested, `user ${JSON.stringify(requested)} is not a valid user name`, Code.InvalidArgument);
  }
  const user = await lookupUser(requested);
  if (user === undefined) {
    throw new TaskUserError(requested, `user ${JSON.stringify(requested)} does not exist on this agent`, Code.FailedPrecondition);
  }
  if (user.uid === agent.uid) return undefined;
  if (agent.uid !== 0) {
    throw new TaskUserError(
      requested,
      `the agent runs as ${agent.name} (not root), so it cannot run a task as ${requested}`,
      Code.PermissionDenied,
    );
  }
  return user;
}

/** The passwd entry of `name` (a login name or a numeric uid); undefined when there is none. */
export async function lookupUser(name: string): Promise<TaskUser | undefined> {
  const result = await getent(name);
  // exit 2: no such key; getent missing: read /etc/passwd ourselves.
  let text: string;
  if (result.kind === 'missing') text = await passwdFileEntry(name);
  else if (result.kind === 'found') text = result.stdout;
  else return undefined;
  return parsePasswdLine(text.split('\n')[0] ?? '');
}

type GetentResult = { kind: 'found'; stdout: string } | { kind: 'not-found' } | { kind: 'missing' };

/** `getent passwd name`: its output, "not-found" for any failure, "missing" when there is no getent. */
function getent(name: string): Promise<GetentResult> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', name], { timeout: 10_000, encoding: 'utf8' }, (error, stdout) => {
      if (error === null) resolve({ kind: 'found', stdout });
      else if ((error as NodeJS.ErrnoException).code === 'ENOENT') resolve({ kind: 'missing' });
      else resolve({ kind: 'not-found' });
    });
  });
}

/** Parses one /etc/passwd line (name:password:uid:gid:gecos:home:shell). */
export function parsePasswdLine(line: string): TaskUser | undefined {
  const fields = line.split(':');
  if (fields.length < 7) return undefined;
  const [name, , uid, gid, , home] = fields;
  if (name === undefined || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
}

async function passwdFileEntry(name: string): Promise<string> {
  const text = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const byName = text.split('\n').find((l) => l.split(':')[0] === name);
  const byUid = /^\d+$/.test(name) ? text.split('\n').find((l) => l.split(':')[2] === name) : undefined;
  return byName ?? byUid ?? '';
}

/**
 * Gives the sandbox and everything in it to `user`, except the agent's
 * checkpoint (and its temporary files). Symlinks are changed themselves
 * (lchown), never what they point to, and never descended into.
 */
export async function chownSandbox(dir: string, user: Pick<TaskUser, 'uid' | 'gid'>): Promise<void> {
  await fs.lchown(dir, user.uid, user.gid);
  const walk = async (current: string, top: boolean): Promise<void> => {
    for (const entry of await fs.readdir(current, { withFileTypes: true })) {
      if (top && (entry.name === CHECKPOINT_FILE || entry.name.startsWith(`.${CHECKPOINT_FILE}.`))) continue;
      const full = path.join(current, entry.name);
      await fs.lchown(full, user.uid, user.gid);
      if (entry.isDirectory()) await walk(full, false);
    }
  };
  await walk(dir, true);
}
