/**
 * Epoch fencing. Every master message carries the sender's epoch, which only
 * grows across leader changes. The agent keeps the highest epoch it has seen
 * on disk (so a restart does not forget it) and refuses anything older: a
 * deposed master that still believes it leads can never command the agent.
 * A higher epoch is persisted before the message carrying it is acted on.
 */
import type { Logger } from '@drover/common';
import { loadJsonFile, writeJsonAtomic } from '../checkpoint/atomic-file.js';

interface EpochFile {
  epoch: number;
}

function isEpochFile(value: unknown): value is EpochFile {
  return Number.isSafeInteger((value as EpochFile).epoch);
}

/** The highest master epoch seen, kept on disk. */
export class EpochFence {
  private constructor(
    private readonly file: string,
    private highestSeen: number,
    private readonly log: Logger,
  ) {}

  /** Loads the highest epoch from `file` (0 when there is none yet). */
  static async load(file: string, logger: Logger): Promise<EpochFence> {
    const content = await loadJsonFile(file, isEpochFile);
    return new EpochFence(file, content?.epoch ?? 0, logger.child({ component: 'epoch-fence' }));
  }

  /** The highest epoch seen so far. */
  get highest(): number {
    return this.highestSeen;
  }

  /** False for an epoch below the highest seen; a new highest is persisted before this resolves true. */
  async admit(epoch: number): Promise<boolean> {
    if (epoch < this.highestSeen) return false;
    if (epoch > this.highestSeen) {
      this.highestSeen = epoch;
      try {
        await writeJsonAtomic(this.file, { epoch } satisfies EpochFile);
      } catch (e) {
        // Still fenced in memory; only a restart before the next write could forget it.
        this.log.error({ epoch, err: e }, 'cannot persist the master epoch');
      }
    }
    return true;
  }
}
