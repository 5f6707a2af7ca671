/**
 * How the file server answers: FileResponses on the agent's stream, paced
 * by the stream, and failures as one DroverError with a gRPC code and no
 * host paths in its message.
 */
import type { Stats } from 'node:fs';
import { Code, DroverError } from '@drover/common';
import { type FileEntry, FileResponse } from '@drover/proto';
import type { ReplyChannel } from '../session/master-session.js';

/** Largest data chunk of one FileResponse. */
export const FILE_CHUNK_BYTES = 64 * 1024;

/** The FileEntry of `shown` (the path as the client spells it). */
export function entryOf(shown: string, st: Stats): FileEntry {
  return {
    path: shown,
    size: st.size,
    isDirectory: st.isDirectory(),
    modifiedAt: st.mtime,
    mode: st.mode & 0o7777,
  };
}

/** Any failure as the DroverError to answer with; system errors keep host paths out of the message. */
export function fileError(e: unknown, requested: string): DroverError {
  if (e instanceof DroverError) return e;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  const name = JSON.stringify(requested);
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return new DroverError(`${name}: permission denied`, Code.PermissionDenied, { cause: e });
    case 'ENOENT':
    case 'ENOTDIR':
      return new DroverError(`${name} does not exist`, Code.NotFound, { cause: e });
    case 'EISDIR':
      return new DroverError(`${name} is a directory`, Code.InvalidArgument, { cause: e });
    case undefined:
      return DroverError.from(e, Code.Internal);
    default:
      return new DroverError(`${name}: ${errno}`, Code.Internal, { cause: e });
  }
}

/** Sends one FileResponse. */
export function send(reply: ReplyChannel, response: Partial<FileResponse>): void {
  reply.send({ message: { $case: 'fileResponse', value: FileResponse.fromPartial(response) } });
}

/** Waits until the stream takes more, or `signal` aborts (a stalled master must not hold up a cancel or a stop). */
export function writable(reply: ReplyChannel, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void reply.writable().then(done);
  });
}
