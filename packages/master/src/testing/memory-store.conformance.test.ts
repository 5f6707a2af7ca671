/** The in-memory store used by tests keeps the Store port's rules too. */
import { storeConformance } from '../store/conformance/store-conformance.js';
import { MemoryStore, MemoryStoreData } from './memory-store.js';

storeConformance('memory', {
  async location() {
    const data = new MemoryStoreData();
    return { open: async () => new MemoryStore(data), dispose: async () => undefined };
  },
});
