/**
 * Writing to stdout and stderr when the reader may go away. `drover --help |
 * head -1` or `drover events | head -2` close the pipe while drover still
 * writes; Node then emits EPIPE as an 'error' event on the stream, and
 * without a listener that is an uncaught exception with a stack trace. A
 * closed pipe is how Unix programs are told "enough": the writer stops
 * writing and asks the command to stop, which ends it the way Ctrl-C does
 * (followers exit 0, servers stop cleanly), so no stack trace and the exit
 * code `head` pipelines expect.
 */
import type { Writable } from 'node:stream';

/** Writes to one output stream; silently drops everything once its reader went away. */
export interface PipeWriter {
  /** Writes text or bytes unless the reader is gone. */
  write(data: string | Uint8Array): void;
  /** True once the reader closed the pipe (EPIPE) or the stream failed. */
  readonly closed: boolean;
}

/**
 * Wraps `stream`: on EPIPE (or any other write error: there is nowhere left
 * to report it) further writes are dropped and `onClosed` runs once with the
 * error's code.
 */
export function pipeWriter(stream: Writable, onClosed: (code: string) => void): PipeWriter {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (closed) return;
    closed = true;
    onClosed(e.code ?? 'EIO');
  });
  return {
    write(data) {
      if (!closed) stream.write(data);
    },
    get closed() {
      return closed;
    },
  };
}
