/** The SQLite store passes the Store conformance suite, each case in a data dir of its own. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storeConformance } from './conformance/store-conformance.js';
import { SqliteStore } from './sqlite-store.js';

storeConformance('sqlite', {
  async location() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-store-conformance-'));
    return {
      open: () => SqliteStore.open(dir),
      dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
});
