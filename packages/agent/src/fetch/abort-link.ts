/**
 * One AbortSignal that fires when any of several does, and lets go of them
 * when done. AbortSignal.any would do, but its sources keep every derived
 * signal alive for as long as they live (the fetcher's stop signal lives as
 * long as the agent), so this one unlinks itself explicitly.
 */

/** A signal linked to its sources until unlink is called. */
export interface LinkedSignal {
  /** Aborted as soon as any source is (or at once if one already is). */
  readonly signal: AbortSignal;
  /** Stops listening to the sources. */
  unlink(): void;
}

/** Links a new signal to `sources` (undefined ones are skipped). */
export function linkSignals(...sources: (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const present = sources.filter((s): s is AbortSignal => s !== undefined);
  const abort = () => controller.abort();
  for (const source of present) {
    if (source.aborted) controller.abort();
    else source.addEventListener('abort', abort, { once: true });
  }
  return {
    signal: controller.signal,
    unlink: () => {
      for (const source of present) source.removeEventListener('abort', abort);
    },
  };
}
