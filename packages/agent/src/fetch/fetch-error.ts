/**
 * Errors of artifact fetching. Helpers (download, cache, extraction, path
 * checks) throw an ArtifactProblem, which knows what went wrong but not for
 * which URI; the fetcher turns it into a FetchError naming the URI. A
 * FetchError's message is the one line a FETCH_FAILED status carries and the
 * master keeps as the app's lastTaskFailure, so it says which URI and why.
 */
import { Code, DroverError } from '@drover/common';
import { SandboxPathError } from '../sandbox/sandbox-paths.js';

/** What went wrong, for programs; the message says it for people. */
export type FetchProblem =
  /** The FetchUri itself: unsupported scheme, malformed sha256, no file name, extract on a non-archive. */
  | 'invalid'
  /** dest_path or an archive entry would land outside its directory, or go through a symlink. */
  | 'unsafe-path'
  /** The server answered with a status other than 2xx (after redirects). */
  | 'http-status'
  /** Connecting, TLS, or the connection broke. */
  | 'network'
  /** No data arrived for the idle timeout. */
  | 'timeout'
  /** The download's SHA-256 is not the expected one. */
  | 'checksum'
  /** The archive cannot be read or unpacked. */
  | 'archive'
  /** The local file system (a file:// source, the sandbox, the cache). */
  | 'io'
  /** The task was killed or the agent stopped while fetching. */
  | 'canceled';

const CODES: Record<FetchProblem, Code> = {
  invalid: Code.InvalidArgument,
  'unsafe-path': Code.InvalidArgument,
  'http-status': Code.Unavailable,
  network: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  checksum: Code.DataLoss,
  archive: Code.DataLoss,
  io: Code.Internal,
  canceled: Code.Canceled,
};

/** A problem with one artifact, not yet tied to its URI (the fetcher wraps it into a FetchError). */
export class ArtifactProblem extends DroverError {
  override name = 'ArtifactProblem';
  constructor(
    /** What kind of problem. */
    readonly problem: FetchProblem,
    /** Why, one line, without the URI. */
    why: string,
    cause?: unknown,
  ) {
    super(oneLine(why), CODES[problem], { cause });
  }
}

/**
 * A refusal of the sandbox path rules (sandbox/sandbox-paths.ts) as an
 * artifact problem: a path that would leave the sandbox or go through a
 * symlink is unsafe, one blocked by what is already there is an I/O problem.
 */
export function artifactProblemOf(e: SandboxPathError): ArtifactProblem {
  const unsafe = e.code === Code.PermissionDenied || e.code === Code.InvalidArgument;
  return new ArtifactProblem(unsafe ? 'unsafe-path' : 'io', e.rawMessage, e);
}

/** Fetching one URI failed; the message reads `fetch <uri>: <why>`. */
export class FetchError extends DroverError {
  override name = 'FetchError';
  constructor(
    /** The URI as the app gave it (its message shows it with any password masked). */
    readonly uri: string,
    /** What kind of problem. */
    readonly problem: FetchProblem,
    /** Why, one line. */
    why: string,
    cause?: unknown,
  ) {
    super(`fetch ${maskedUri(uri)}: ${oneLine(why)}`, CODES[problem], { cause });
  }

  /** Wraps anything thrown while fetching `uri`: problems keep their kind, anything else is an I/O problem. */
  static of(uri: string, reason: unknown): FetchError {
    if (reason instanceof FetchError) return reason;
    if (reason instanceof SandboxPathError) return FetchError.of(uri, artifactProblemOf(reason));
    if (reason instanceof ArtifactProblem) return new FetchError(uri, reason.problem, reason.rawMessage, reason);
    return new FetchError(uri, 'io', DroverError.from(reason).rawMessage, reason);
  }
}

/** The URI with the password of its user info (if any) replaced by `***`, for messages and logs. */
export function maskedUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return oneLine(uri);
  }
  if (url.password === '') return oneLine(uri);
  url.password = '***';
  return url.href;
}

/** Collapses whitespace runs (newlines included) to one space: statuses carry one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
