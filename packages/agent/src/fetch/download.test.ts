import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { download } from './download.js';
import { ArtifactProblem } from './fetch-error.js';

let dir: string;
let server: http.Server;
let url: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-download-'));
  // Answers with headers at once, then trickles forever: a download in progress.
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write('x');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/artifact`;
});

afterEach(async () => {
  vi.restoreAllMocks();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

describe('download', () => {
  it('is canceled cleanly when aborted while it opens its file: no uncaught error from a stream nobody listens to yet', async () => {
    const abort = new AbortController();
    const realOpen = fs.open.bind(fs);
    // The kill lands while the output file is being opened (a window that load widens).
    vi.spyOn(fs, 'open').mockImplementation(async (...args: Parameters<typeof fs.open>) => {
      abort.abort();
      await new Promise((r) => setTimeout(r, 50));
      return realOpen(...args);
    });
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const file = path.join(dir, 'artifact');
      const error = await download(new URL(url), file, { signal: abort.signal, idleTimeoutMs: 5000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArtifactProblem);
      expect((error as ArtifactProblem).problem).toBe('canceled');
      await new Promise((r) => setTimeout(r, 100));
      expect(uncaught).toEqual([]);
      await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
