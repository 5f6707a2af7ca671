/**
 * A Store in memory, for tests that need a ClusterState without a disk. It
 * keeps the Store port's rules (it passes the conformance suite,
 * memory-store.conformance.test.ts): batches are encoded before anything is
 * applied, so one that cannot be fails whole; terms fence writes; the state
 * lives in a MemoryStoreData that outlives each store opened on it, as a
 * data dir outlives a master.
 */
import type { Mutation } from '../model/mutation.js';
import { recordKeyOf } from '../model/mutation.js';
import { type Fence, type Store, StoreFencedError, type StoredState } from '../store/store.js';

/** What a memory store holds: encoded records by key, and the meta values. */
export class MemoryStoreData {
  readonly records = new Map<string, string>();
  generation = 0;
  term = 0;
  format = 0;
}

/** A Store on a MemoryStoreData. */
export class MemoryStore implements Store {
  readonly kind = 'memory';

  constructor(private readonly data: MemoryStoreData = new MemoryStoreData()) {}

  async load(): Promise<StoredState> {
    const of = <T>(prefix: string): T[] => [...this.data.records].filter(([k]) => k.startsWith(prefix)).map(([, v]) => JSON.parse(v) as T);
    return { format: this.data.format, apps: of('app:'), tasks: of('task:'), agents: of('agent:'), versions: of('version:'), deployments: of('deployment:') };
  }

  async nextGeneration(atLeast = 0, term?: number): Promise<number> {
    if (term !== undefined) this.check(term);
    this.data.generation = Math.max(this.data.generation + 1, atLeast);
    if (term === undefined) this.data.term = this.data.generation;
    return this.data.generation;
  }

  async commit(mutations: readonly Mutation[], fence?: Fence): Promise<void> {
    if (fence !== undefined) this.check(fence.term);
    this.apply(mutations);
  }

  async upgrade(mutations: readonly Mutation[], format: number): Promise<void> {
    this.apply(mutations);
    this.data.format = format;
  }

  async close(): Promise<void> {}

  private check(term: number): void {
    if (term !== this.data.term) throw new StoreFencedError(term, this.data.term);
  }

  /** Encodes every record first: a batch that cannot be encoded changes nothing. */
  private apply(mutations: readonly Mutation[]): void {
    const encoded = mutations.map((m) => ({ key: recordKeyOf(m), doc: encode(m) }));
    for (const { key, doc } of encoded) {
      if (doc === undefined) this.data.records.delete(key);
      else this.data.records.set(key, doc);
    }
  }
}

function encode(m: Mutation): string | undefined {
  switch (m.kind) {
    case 'putApp':
      return JSON.stringify(m.app);
    case 'putTask':
      return JSON.stringify(m.task);
    case 'putAgent':
      return JSON.stringify(m.agent);
    case 'putVersion':
      return JSON.stringify(m.version);
    case 'putDeployment':
      return JSON.stringify(m.deployment);
    default:
      return undefined;
  }
}
