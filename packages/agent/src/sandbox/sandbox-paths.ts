/**
 * Sandbox path safety, in one place: every path that comes from outside the
 * agent (a client's file request, an artifact's dest_path, the names and
 * link targets of archive entries) is checked here before the agent reads
 * or writes through it. Both sides share one check of a relative name (no
 * NUL byte, not absolute, no `..` component: relativeNameProblem).
 *
 * READING: turning a path a client sent into an open file inside one task's
 * sandbox, and never outside it.
 *
 * Serving files of a directory that a workload controls is where cluster
 * managers have leaked the host before: Kubernetes (subPath volumes swapped
 * for symlinks between check and use) and Nomad (alloc directory access and
 * artifacts reaching outside through `..` and symlinks) both shipped CVEs
 * of exactly this shape. The task owns its
 * sandbox and may put anything in it, including symlinks to / and files it
 * swaps for symlinks while the agent looks, so the agent trusts nothing it
 * finds there. The rules, in order:
 *
 * 1. The request must be relative, without NUL bytes and without any `..`
 *    component (INVALID_ARGUMENT). `a/../b` is refused too: nothing needs it.
 * 2. The sandbox root is the realpath of the tasks dir joined with the task
 *    id, and must itself be a directory, not a symlink (PERMISSION_DENIED).
 * 3. The path is resolved the way the kernel would, one component at a time
 *    with lstat, following symlinks by hand: a relative target is spliced
 *    in where the link was, an absolute one must name the sandbox itself.
 *    Any step that would leave the root (a `..` at the root, an absolute
 *    target elsewhere, a chain of links that ends outside) is refused with
 *    PERMISSION_DENIED, whether or not the target exists, so the answer says
 *    nothing about the host. More than 40 links is refused as a loop.
 *    A missing component is NOT_FOUND.
 * 4. The result is checked again with realpath (belt and braces).
 * 5. Between that check and the open the task may swap the file for a
 *    symlink, or a directory on the way for a link elsewhere. The open
 *    therefore uses O_NOFOLLOW (a symlink as last component fails with
 *    ELOOP, refused) and O_NONBLOCK (a FIFO cannot hang the agent), and the
 *    opened descriptor is checked through /proc/self/fd/N, which names the
 *    file the kernel actually opened: it must still be inside the root.
 *    Everything after that (fstat, reads, directory listings through
 *    /proc/self/fd/N) works on that descriptor, never on the path again.
  *
 * WRITING: where fetched files may go. Every path an artifact names (its
 * dest_path, the names and link targets of its archive entries) is
 * untrusted. The rules:
 *
 * - A name is relative and has no `..` segment; it never names the agent's
 *   checkpoint file at the sandbox root.
 * - Directories are created one by one with lstat: a path never goes through
 *   a symlink or a non-directory. Hence a name's lexical place is its real
 *   place, and the checks below need no realpath.
 * - A symlink target is relative, has `..` only as its leading segments, and
 *   those do not climb above the extraction directory. Descending by plain
 *   names from a directory inside the sandbox, through links that themselves
 *   obey this rule, cannot leave the sandbox, so every link the fetcher
 *   creates resolves inside it (`a -> .` then `b -> a/a/..` is the trick this
 *   rule refuses: lexically inside, really outside).
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { Code, DroverError } from '@drover/common';
import { CHECKPOINT_FILE, sandboxFor } from './sandbox.js';

/** Symlinks followed while resolving one path before it counts as a loop (the kernel's limit). */
export const MAX_SYMLINKS = 40;

/** A path a client asked for that is not served. */
export class SandboxPathError extends DroverError {
  override name = 'SandboxPathError';
  constructor(
    /** The path as the client sent it. */
    readonly requested: string,
    message: string,
    code: Code,
  ) {
    super(message, code);
  }
}

/** What is wrong with a relative name from outside the agent, if anything: the check both sides share. */
export type RelativeNameProblem = 'nul' | 'absolute' | 'dotdot';

/** The shared check (see the top of the file); "" and "." components are fine here. */
export function relativeNameProblem(name: string): RelativeNameProblem | undefined {
  if (name.includes('\0')) return 'nul';
  if (path.posix.isAbsolute(name)) return 'absolute';
  if (name.split('/').includes('..')) return 'dotdot';
  return undefined;
}

/**
 * The components of a requested path, "" and "." dropped; throws
 * INVALID_ARGUMENT for an absolute path, a `..` component or a NUL byte.
 */
export function requestedComponents(requested: string): string[] {
  const show = JSON.stringify(requested);
  switch (relativeNameProblem(requested)) {
    case 'nul':
      throw new SandboxPathError(requested, 'the path contains a NUL byte', Code.InvalidArgument);
    case 'absolute':
      throw new SandboxPathError(requested, `${show} is absolute: paths are relative to the sandbox`, Code.InvalidArgument);
    case 'dotdot':
      throw new SandboxPathError(requested, `${show} contains "..": paths must stay inside the sandbox`, Code.InvalidArgument);
    case undefined:
      return requested.split('/').filter((p) => p !== '' && p !== '.');
  }
}

/** The normal form of a requested path ("" for the sandbox itself); validates like requestedComponents. */
export function normalizeRequested(requested: string): string {
  return requestedComponents(requested).join('/');
}

/** True when `candidate` is `root` or below it (both absolute and normalized). */
export function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** A task's sandbox as the file server sees it. */
export interface SandboxRoot {
  /** The sandbox directory's real path: realpath(tasksDir)/<taskId>. */
  readonly real: string;
  /** The same directory as the agent names it (DROVER_SANDBOX); absolute links may use either. */
  readonly named: string;
}

/**
 * The sandbox of `taskId`: INVALID_ARGUMENT for an id that cannot name one,
 * NOT_FOUND when it is not on disk, PERMISSION_DENIED when it is not a plain
 * directory (a task replaced it with a symlink).
 */
export async function sandboxRoot(tasksDir: string, taskId: string): Promise<SandboxRoot> {
  const named = sandboxFor(tasksDir, taskId).dir;
  const real = path.join(await fs.realpath(tasksDir), taskId);
  let st: Stats;
  try {
    st = await fs.lstat(real);
  } catch (e) {
    if (isMissing(e)) throw new DroverError(`task ${taskId} has no sandbox on this agent`, Code.NotFound);
    throw e;
  }
  if (!st.isDirectory()) throw new DroverError(`the sandbox of task ${taskId} is not a directory`, Code.PermissionDenied);
  return { real, named: path.resolve(named) };
}

/**
 * Resolves `requested` inside the sandbox, following symlinks by hand and
 * refusing any step outside (see the rules at the top). Returns the real
 * path of what it names.
 */
export async function resolveInSandbox(root: SandboxRoot, requested: string): Promise<string> {
  const pending = requestedComponents(requested);
  const denied = (why: string) => new SandboxPathError(requested, `${JSON.stringify(requested)} ${why}`, Code.PermissionDenied);
  let current = root.real;
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      // Only a symlink's target brings `..` here.
      if (current === root.real) throw denied('leads out of the sandbox through a symlink');
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    let st: Stats;
    try {
      st = await fs.lstat(next);
    } catch (e) {
      if (isMissing(e)) throw new SandboxPathError(requested, `${JSON.stringify(requested)} does not exist`, Code.NotFound);
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw denied('has too many levels of symlinks');
      const target = await fs.readlink(next);
      const parts = target.split('/').filter((p) => p !== '' && p !== '.');
      if (path.isAbsolute(target)) {
        // An absolute target must name the sandbox itself, by its real path or its agent-given one.
        const base = [root.real, root.named].find((r) => isInside(r, path.join('/', ...parts)) && !parts.includes('..'));
        if (base === undefined) throw denied('is a symlink pointing out of the sandbox');
        pending.unshift(...path.relative(base, path.join('/', ...parts)).split('/').filter((p) => p !== ''));
        current = root.real;
      } else {
        pending.unshift(...parts);
      }
      continue;
    }
    if (pending.length > 0 && !st.isDirectory()) {
      throw new SandboxPathError(requested, `${JSON.stringify(requested)} does not exist (${part} is not a directory)`, Code.NotFound);
    }
    current = next;
  }
  // The walk above decides; realpath agreeing is a second opinion that costs one call.
  const real = await fs.realpath(current).catch((e: unknown) => {
    if (isMissing(e)) throw new SandboxPathError(requested, `${JSON.stringify(requested)} does not exist`, Code.NotFound);
    throw e;
  });
  if (!isInside(root.real, real)) throw denied('resolves outside the sandbox');
  return real;
}

/** What kind of file an open must find. */
export type OpenKind = 'file' | 'any';

/** An opened sandbox file or directory and what fstat says about it. */
export interface OpenedEntry {
  readonly handle: fs.FileHandle;
  readonly stats: Stats;
  /**
   * A path naming exactly the opened file: /proc/self/fd/N where there is a
   * /proc (no re-resolution), else the checked real path.
   */
  readonly viaFd: string;
}

/**
 * Opens `real` (from resolveInSandbox) without following a last-component
 * symlink, and checks through /proc/self/fd that the kernel opened a file
 * inside the sandbox. `flags` adds to O_RDONLY (e.g. O_RDWR for the log
 * rotator). kind 'file' refuses anything but a regular file.
 */
export async function openInSandbox(root: SandboxRoot, real: string, kind: OpenKind, requested: string, flags = constants.O_RDONLY): Promise<OpenedEntry> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(real, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new SandboxPathError(requested, `${JSON.stringify(requested)} became a symlink while it was opened`, Code.PermissionDenied);
    }
    if (isMissing(e)) throw new SandboxPathError(requested, `${JSON.stringify(requested)} does not exist`, Code.NotFound);
    if (code === 'EISDIR') throw new SandboxPathError(requested, `${JSON.stringify(requested)} is a directory`, Code.InvalidArgument);
    throw e;
  }
  try {
    const stats = await handle.stat();
    const viaFd = await checkOpened(root, real, handle, stats, requested);
    if (kind === 'file' && !stats.isFile()) {
      const what = stats.isDirectory() ? 'a directory' : 'not a regular file';
      throw new SandboxPathError(requested, `${JSON.stringify(requested)} is ${what}`, Code.InvalidArgument);
    }
    return { handle, stats, viaFd };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Where the kernel says `handle` points must be inside the sandbox; returns a path naming exactly it. */
async function checkOpened(root: SandboxRoot, real: string, handle: fs.FileHandle, stats: Stats, requested: string): Promise<string> {
  const magic = `/proc/self/fd/${handle.fd}`;
  let opened: string | undefined;
  try {
    opened = await fs.readlink(magic);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  if (opened !== undefined) {
    if (!isInside(root.real, opened)) {
      throw new SandboxPathError(requested, `${JSON.stringify(requested)} was swapped for something outside the sandbox`, Code.PermissionDenied);
    }
    return magic;
  }
  // No /proc (not Linux): the path must still name the very file that was opened.
  const again = await fs.realpath(real);
  const now = await fs.stat(again);
  if (!isInside(root.real, again) || now.ino !== stats.ino || now.dev !== stats.dev) {
    throw new SandboxPathError(requested, `${JSON.stringify(requested)} was swapped while it was opened`, Code.PermissionDenied);
  }
  return again;
}

/** ENOENT or ENOTDIR: the path names nothing. */
export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Why `name` (a sandbox- or archive-relative path to write) is unsafe, or undefined when it is fine. */
export function unsafeRelativePath(name: string): string | undefined {
  if (name === '') return 'is empty';
  switch (relativeNameProblem(name)) {
    case 'nul':
      return 'contains a NUL byte';
    case 'absolute':
      return 'is absolute';
    case 'dotdot':
      return "contains '..'";
    case undefined:
      break;
  }
  if (name.split('/').every((p) => p === '' || p === '.')) return 'names the directory itself';
  return undefined;
}

/** `name` without empty and `.` segments, e.g. "./a//b/" -> "a/b". */
export function cleanRelativePath(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/** Why a symlink at `entry` (relative to the extraction directory) pointing at `target` is unsafe, or undefined. */
export function unsafeSymlinkTarget(entry: string, target: string): string | undefined {
  const show = JSON.stringify(target);
  if (target === '') return 'is a symlink with an empty target';
  if (target.includes('\0')) return 'is a symlink whose target contains a NUL byte';
  if (path.posix.isAbsolute(target)) return `is a symlink to the absolute path ${show}`;
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  let up = 0;
  while (parts[up] === '..') up += 1;
  if (parts.slice(up).includes('..')) return `is a symlink to ${show}, which has '..' after a name`;
  const depth = cleanRelativePath(entry).split('/').length - 1;
  if (up > depth) return `is a symlink to ${show}, outside the directory it is extracted to`;
  return undefined;
}

/**
 * Creates `root/relDir` directory by directory and returns its absolute
 * path. Refuses (SandboxPathError: PERMISSION_DENIED for a symlink, FAILED_PRECONDITION for a file) to go through either. `known`
 * remembers directories already checked, to spare lstat calls in archives.
 */
export async function makeDirsInside(root: string, relDir: string, known: Set<string> = new Set()): Promise<string> {
  let current = root;
  for (const part of cleanRelativePath(relDir).split('/')) {
    if (part === '') continue;
    if (part === '..') throw new SandboxPathError(relDir, `${JSON.stringify(relDir)} contains '..'`, Code.InvalidArgument);
    current = path.join(current, part);
    if (known.has(current)) continue;
    const stat = await fs.lstat(current).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    });
    const shown = JSON.stringify(path.relative(root, current));
    if (stat === undefined) await fs.mkdir(current, { mode: 0o755 });
    else if (stat.isSymbolicLink()) throw new SandboxPathError(relDir, `${shown} is a symlink; fetched files never go through one`, Code.PermissionDenied);
    else if (!stat.isDirectory()) throw new SandboxPathError(relDir, `${shown} exists and is not a directory`, Code.FailedPrecondition);
    known.add(current);
  }
  return current;
}

/** Removes what is at `file` unless it is a directory (refused: FAILED_PRECONDITION): the way is clear for a new file or link. */
export async function clearForFile(root: string, file: string): Promise<void> {
  const stat = await fs.lstat(file).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  });
  if (stat === undefined) return;
  if (stat.isDirectory()) {
    const shown = path.relative(root, file);
    throw new SandboxPathError(shown, `${JSON.stringify(shown)} exists and is a directory`, Code.FailedPrecondition);
  }
  await fs.unlink(file);
}
