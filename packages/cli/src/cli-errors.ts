/**
 * How failures end a command: one "error: ..." line on stderr (plus each
 * violation of a ValidationError on its own line), never a stack trace, and
 * an exit code scripts can branch on.
 */
import { Code, DroverError, formatViolation, ValidationError } from '@drover/common';
import { CommanderError } from 'commander';

/** Exit codes of the drover command. */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** The command failed (master unreachable, not found, conflict...). */
  Failure: 1,
  /** The input was wrong: bad flags or arguments, an invalid app definition. */
  Usage: 2,
  /** Ctrl-C stopped a command that waits for something (128 + SIGINT, as shells report it); the thing goes on. */
  Interrupted: 130,
} as const;

/**
 * Ends a command with a given exit code and prints nothing more: the command
 * has said what there was to say (`drover run --wait` exits with its task's
 * code). Not a failure, so it is not a DroverError.
 */
export class ExitWithCode extends Error {
  override name = 'ExitWithCode';
  constructor(
    /** The exit code of the command, 0-255. */
    readonly exitCode: number,
  ) {
    super(`exit ${exitCode}`);
  }
}

/**
 * A failure with advice on what to do about it, printed as a "hint: ..."
 * line after the error. Keeps the wrapped error's code and message, so the
 * exit code is the one the error alone would give.
 */
export class HintedError extends DroverError {
  override name = 'HintedError';
  constructor(
    error: DroverError,
    /** What the user can do next, one line. */
    readonly hint: string,
  ) {
    super(error.rawMessage, error.code, { cause: error, details: error.details });
  }
}

/** Where reportError writes (the command's CliIo has both). */
export interface ErrorOutput {
  /** Writes text to standard error as is. */
  stderr(text: string): void;
  /** Environment variables (DROVER_DEBUG prints stacks). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Prints `reason` for people and returns the exit code it maps to. */
export function reportError(io: ErrorOutput, reason: unknown): number {
  if (reason instanceof ExitWithCode) return reason.exitCode;
  if (reason instanceof CommanderError) {
    // Commander already printed its message (or the help text) to stderr.
    return reason.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  const err = DroverError.from(reason);
  if (err instanceof ValidationError) {
    io.stderr(`error: ${validationSummary(err)}\n`);
    for (const v of err.violations) io.stderr(`  ${formatViolation(v)}\n`);
    return ExitCode.Usage;
  }
  io.stderr(`error: ${err.rawMessage}\n`);
  if (err instanceof HintedError) io.stderr(`hint: ${err.hint}\n`);
  if (io.env.DROVER_DEBUG) printStacks(io, reason);
  return err.code === Code.InvalidArgument ? ExitCode.Usage : ExitCode.Failure;
}

/** For bug reports (DROVER_DEBUG=1): the stack of the error and of each cause. */
function printStacks(io: ErrorOutput, reason: unknown): void {
  for (let e: unknown = reason, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    io.stderr(`${depth === 0 ? '' : 'caused by: '}${e.stack ?? String(e)}\n`);
  }
}

/**
 * A ValidationError's message is "<summary>: <v1>; <v2>"; the violations are
 * printed one per line, so only the summary goes on the error line.
 */
function validationSummary(err: ValidationError): string {
  const joined = `: ${err.violations.map(formatViolation).join('; ')}`;
  return err.rawMessage.endsWith(joined) ? err.rawMessage.slice(0, -joined.length) : err.rawMessage;
}
