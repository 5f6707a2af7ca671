/**
 * Following a grpc-js server-streaming call as one promise. grpc-js reports
 * a stream through three events ('data', 'error', 'end') that may come in
 * any combination (a canceled call emits 'error' with CANCELLED, an ended
 * one may never emit 'end' after an 'error'), so the promise settles on the
 * first of them and ignores the rest. An AbortSignal cancels the call at
 * once, which is how a caller stops following without waiting for the
 * server: the promise then resolves, since stopping was asked for.
 */
import { DroverError, fromGrpcError } from '@drover/common';
import type { ClientReadableStream } from '@grpc/grpc-js';

/** How a followed stream stopped. */
export type StreamOutcome = 'ended' | 'aborted';

/**
 * Starts the call and hands every message to `onMessage`. Resolves with
 * 'ended' when the server ends the stream and 'aborted' when `signal`
 * aborts (the call is canceled); rejects with a DroverError when the call
 * fails or `onMessage` throws (the call is canceled then too).
 */
export function followStream<Res>(
  start: () => ClientReadableStream<Res>,
  onMessage: (message: Res) => void,
  target: string,
  signal?: AbortSignal,
): Promise<StreamOutcome> {
  return new Promise<StreamOutcome>((resolve, reject) => {
    if (signal?.aborted) {
      resolve('aborted');
      return;
    }
    let call: ClientReadableStream<Res>;
    try {
      call = start();
    } catch (error) {
      // grpc-js throws synchronously on a closed channel or a request it cannot serialize.
      reject(fromGrpcError(error, target));
      return;
    }
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      finish();
    };
    const onAbort = (): void => {
      settle(() => resolve('aborted'));
      call.cancel();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    call.on('data', (message: Res) => {
      if (settled) return;
      try {
        onMessage(message);
      } catch (error) {
        settle(() => reject(DroverError.from(error)));
        call.cancel();
      }
    });
    // Stays registered after settling: an 'error' event without a listener would crash the process.
    call.on('error', (error: unknown) => settle(() => reject(fromGrpcError(error, target))));
    call.on('end', () => settle(() => resolve('ended')));
  });
}
