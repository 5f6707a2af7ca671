import { Code } from './code.js';
import { DroverError } from './drover-error.js';

/**
 * A server could not listen because another process holds its port (a
 * second `drover dev`, another master). Carries which listener failed, so
 * the CLI can name the flag that moves it.
 */
export class AddressInUseError extends DroverError {
  override name = 'AddressInUseError';
  constructor(
    /** Which of the master's listeners: its gRPC or its HTTP port. */
    readonly listener: 'grpc' | 'http',
    /** The interface it tried to listen on. */
    readonly host: string,
    /** The port that is taken. */
    readonly port: number,
    options: { cause?: unknown } = {},
  ) {
    super(`cannot listen on ${host}:${port} (${listener === 'grpc' ? 'gRPC' : 'HTTP'}): the port is in use`, Code.FailedPrecondition, options);
  }
}
