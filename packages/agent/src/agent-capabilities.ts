/**
 * What the agent tells the master it can run (Register.capabilities). Each
 * part of the agent that knows a capability is a source (the isolation
 * probe's "isolation:*", the Docker daemon's "docker"); the agent asks all of
 * them before every registration, so a daemon that came or went since the
 * last one is reported. A source that fails adds nothing and is logged: an
 * agent must register even when one of them cannot tell.
 */
import type { Logger } from '@drover/common';

/** The capabilities one source vouches for right now. */
export type CapabilitySource = () => readonly string[] | Promise<readonly string[]>;

/** Every source's capabilities, without repeats, sorted. */
export async function collectCapabilities(sources: readonly CapabilitySource[], logger: Logger): Promise<string[]> {
  const lists = await Promise.all(
    sources.map(async (source) => {
      try {
        return await source();
      } catch (e) {
        logger.warn({ err: e }, 'a capability source failed: reporting without it');
        return [];
      }
    }),
  );
  return [...new Set(lists.flat())].sort();
}
