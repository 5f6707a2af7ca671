/**
 * Why a listener could not bind, as an error the CLI can act on. Node's
 * net errors say EADDRINUSE in their code, but grpc-js folds its bind errors
 * into one line of text ("No address added out of total 1 resolved errors:
 * [...]"). Rather than read that text, a failed gRPC bind is followed by a
 * plain TCP listen on the same address, whose error code says what is wrong.
 */
import net from 'node:net';
import { AddressInUseError } from '@drover/common';

/** `error` as an AddressInUseError when the port is taken (port 0 never is); else `error` itself. */
export async function listenFailure(error: unknown, listener: 'grpc' | 'http', host: string, port: number): Promise<unknown> {
  if (port === 0) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? (await probeListen(host, port));
  return code === 'EADDRINUSE' ? new AddressInUseError(listener, host, port, { cause: error }) : error;
}

/** The error code of listening on host:port right now; undefined when that works. */
function probeListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}
