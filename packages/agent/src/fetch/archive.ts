/**
 * Unpacking fetched archives into the sandbox: tarballs (plain or gzip) with
 * node-tar, zip files with yauzl, both streamed from disk.
 *
 * Each entry is checked before anything is written for it (sandbox/sandbox-paths.ts
 * has the rules); the first unsafe one fails the whole fetch and nothing
 * after it is written. Entries before it stay: the task fails and never
 * starts, and its sandbox shows what happened. On top of that node-tar keeps
 * its own defences (no `..`, no extraction through symlinks) in strict mode,
 * where any of its warnings fails the extraction too.
 *
 * Files keep their permission bits from the archive (tar, and zip files made
 * on Unix), less the agent's umask, without setuid, setgid or sticky: the
 * agent may run as root.
 * Owners are never taken from the archive: files belong to the agent's user.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DroverError } from '@drover/common';
import type { ReadEntry } from 'tar';
import type yauzl from 'yauzl';
import { ArtifactProblem, artifactProblemOf } from './fetch-error.js';
import {
  clearForFile,
  cleanRelativePath,
  makeDirsInside,
  SandboxPathError,
  unsafeRelativePath,
  unsafeSymlinkTarget,
} from '../sandbox/sandbox-paths.js';

/** The archive formats the fetcher unpacks. */
export type ArchiveKind = 'tar' | 'zip';

/** Where to unpack, and what must not be touched. */
export interface ExtractTarget {
  /** Directory to unpack into (exists, inside the sandbox). */
  readonly dir: string;
  /** Absolute paths no entry may write (the agent's checkpoint file). */
  readonly reserved: ReadonlySet<string>;
  /** Stops a zip extraction between entries. */
  readonly signal?: AbortSignal;
}

/** The kind of archive a file name says (.tar.gz, .tgz, .tar, .zip; any case), or undefined. */
export function archiveKindOf(name: string): ArchiveKind | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz') || lower.endsWith('.tar')) return 'tar';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

/** Unpacks `archive` into `target.dir`; resolves with the number of entries written. Throws ArtifactProblem. */
export async function extractArchive(kind: ArchiveKind, archive: string, target: ExtractTarget): Promise<number> {
  return kind === 'tar' ? extractTar(archive, target) : extractZip(archive, target);
}

const PERMISSION_BITS = 0o777;

/** Why an entry is refused, or undefined: the checks shared by both formats. */
function refusalOf(name: string, target: ExtractTarget, isDir: boolean): string | undefined {
  const why = unsafeRelativePath(name);
  if (why === 'names the directory itself' && isDir) return undefined;
  if (why !== undefined) return why;
  if (target.reserved.has(path.join(target.dir, cleanRelativePath(name)))) return "would overwrite the agent's checkpoint";
  return undefined;
}

function refused(name: string, why: string): ArtifactProblem {
  return new ArtifactProblem('unsafe-path', `archive entry ${JSON.stringify(name)} ${why}: refused`);
}

async function extractTar(archive: string, target: ExtractTarget): Promise<number> {
  let refusal: ArtifactProblem | undefined;
  let written = 0;
  const check = (entry: ReadEntry): string | undefined => {
    switch (entry.type) {
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        return `is a ${entry.type}`;
      case 'SymbolicLink':
        return refusalOf(entry.path, target, false) ?? unsafeSymlinkTarget(entry.path, entry.linkpath ?? '');
      case 'Link': {
        const why = unsafeRelativePath(entry.linkpath ?? '');
        return refusalOf(entry.path, target, false) ?? (why === undefined ? undefined : `is a hard link whose target ${why}`);
      }
      default:
        return refusalOf(entry.path, target, entry.type === 'Directory' || entry.type === 'GNUDumpDir');
    }
  };
  // Loaded on the first archive: an agent whose tasks fetch none never carries them.
  const { x: extractTarFile } = await import('tar');
  try {
    await extractTarFile({
      file: archive,
      cwd: target.dir,
      strict: true,
      preserveOwner: false,
      filter: (name, entry) => {
        if (refusal !== undefined) return false;
        const readEntry = entry as ReadEntry;
        const why = check(readEntry);
        if (why !== undefined) {
          refusal = refused(name, why);
          return false;
        }
        if (readEntry.mode !== undefined) readEntry.mode &= PERMISSION_BITS;
        written += 1;
        return true;
      },
    });
  } catch (e) {
    throw refusal ?? new ArtifactProblem('archive', `cannot unpack ${path.basename(archive)}: ${DroverError.from(e).rawMessage}`, e);
  }
  if (refusal !== undefined) throw refusal;
  return written;
}

/** Unix file type bits of a zip entry made on Unix (version made by, high byte 3). */
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const MAX_LINK_TARGET_BYTES = 4096;

async function extractZip(archive: string, target: ExtractTarget): Promise<number> {
  const { default: yauzl } = await import('yauzl');
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(archive, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true });
  } catch (e) {
    throw new ArtifactProblem('archive', `cannot unpack ${path.basename(archive)}: ${DroverError.from(e).rawMessage}`, e);
  }
  const known = new Set<string>([target.dir]);
  let written = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      target.signal?.throwIfAborted();
      // Names are decoded here, not by yauzl, so that unsafe ones reach our checks (and our message).
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const unixMode = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
      const type = unixMode & S_IFMT;
      const isDir = name.endsWith('/') || type === S_IFDIR;
      const why = refusalOf(name, target, isDir);
      if (why !== undefined) throw refused(name, why);
      const clean = cleanRelativePath(name);
      if (isDir) {
        if (clean !== '') await makeDirsInside(target.dir, clean, known);
        written += 1;
        continue;
      }
      const parent = await makeDirsInside(target.dir, path.posix.dirname(clean), known);
      const file = path.join(parent, path.posix.basename(clean));
      await clearForFile(target.dir, file);
      const stream = await zip.openReadStreamPromise(entry);
      if (type === S_IFLNK) {
        const linkTarget = await readSmall(stream, MAX_LINK_TARGET_BYTES);
        const bad = unsafeSymlinkTarget(clean, linkTarget);
        if (bad !== undefined) throw refused(name, bad);
        await fs.symlink(linkTarget, file);
      } else {
        const mode = unixMode & PERMISSION_BITS || 0o644;
        // O_EXCL after clearForFile: never writes through a link planted meanwhile.
        const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
        await pipeline(stream, handle.createWriteStream());
      }
      written += 1;
    }
  } catch (e) {
    if (e instanceof ArtifactProblem) throw e;
    if (e instanceof SandboxPathError) throw artifactProblemOf(e);
    if (target.signal?.aborted === true) throw new ArtifactProblem('canceled', 'canceled', e);
    throw new ArtifactProblem('archive', `cannot unpack ${path.basename(archive)}: ${DroverError.from(e).rawMessage}`, e);
  } finally {
    zip.close();
  }
  return written;
}

async function readSmall(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += buffer.length;
    if (size > limit) throw new ArtifactProblem('archive', `a symlink target is longer than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
