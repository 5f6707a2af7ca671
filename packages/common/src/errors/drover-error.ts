import { Code, codeName } from './code.js';

/** Options every Drover error accepts. */
export interface DroverErrorOptions {
  /** Structured details that travel with the error (rendered by API layers). */
  details?: readonly unknown[];
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * The one error class of Drover. Everything thrown on purpose is a
 * DroverError (or a subclass carrying readonly context fields); anything else
 * caught is wrapped with DroverError.from. Code decides behaviour: never
 * inspect an error's message text.
 */
export class DroverError extends Error {
  override name = 'DroverError';
  /** What kind of failure this is; mirrors gRPC status codes. */
  readonly code: Code;
  /** Structured details for API layers. */
  readonly details: readonly unknown[];
  /** The message without the "[code]" prefix. */
  readonly rawMessage: string;

  constructor(message: string, code: Code = Code.Unknown, options: DroverErrorOptions = {}) {
    super(`[${codeName(code)}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.rawMessage = message;
    this.details = options.details ?? [];
  }

  /** Wraps anything thrown into a DroverError, keeping DroverErrors as they are. */
  static from(reason: unknown, code: Code = Code.Unknown): DroverError {
    if (reason instanceof DroverError) return reason;
    if (reason instanceof Error) return new DroverError(reason.message, code, { cause: reason });
    return new DroverError(String(reason), code, { cause: reason });
  }
}

/** The thing asked for does not exist. */
export class NotFoundError extends DroverError {
  override name = 'NotFoundError';
  constructor(
    /** What kind of thing: "app", "task", "agent". */
    readonly kind: string,
    /** The id that was looked up. */
    readonly id: string,
  ) {
    super(`${kind} ${id} not found`, Code.NotFound);
  }
}
