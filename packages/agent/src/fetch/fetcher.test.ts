import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Logger, silentLogger } from '@drover/common';
import { FetchUri } from '@drover/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactServer, sha256Of, tarball, zipFile } from '../testing/artifact-server.js';
import { type FetchProblem, FetchError } from './fetch-error.js';
import { Fetcher } from './fetcher.js';

const HELLO = 'hello, artifact\n';
const SCRIPT = '#!/bin/sh\necho fetched\n';
const BIG = Buffer.alloc(24 * 1024 * 1024, 'drover');
let server: ArtifactServer;
let outsideDir: string;
/** A port nothing listens on (it was free a moment ago). */
let closedPort: number;

beforeAll(async () => {
  const probe = await ArtifactServer.start();
  closedPort = Number(new URL(probe.origin).port);
  await probe.close();
  server = await ArtifactServer.start();
  server.serve('/hello.txt', { kind: 'file', body: Buffer.from(HELLO) });
  server.serve('/run.sh', { kind: 'file', body: Buffer.from(SCRIPT) });
  server.serve('/missing', { kind: 'status', status: 404 });
  server.serve('/moved', { kind: 'redirect', to: '/hello.txt' });
  server.serve('/stall.bin', { kind: 'stall', body: Buffer.alloc(100_000, 1), sendBytes: 10 });
  server.serve('/dl', { kind: 'file', body: Buffer.from(HELLO) });
  server.serve(
    '/app.tar.gz',
    {
      kind: 'file',
      body: tarball([
        { name: 'app/', type: 'Directory' },
        { name: 'app/bin/', type: 'Directory', mode: 0o750 },
        { name: 'app/bin/run.sh', type: 'File', body: SCRIPT, mode: 0o755 },
        { name: 'app/conf/settings.ini', type: 'File', body: 'a=1\n', mode: 0o640 },
        { name: 'app/lib/tool', type: 'File', body: 'tool\n' },
        { name: 'app/bin/tool', type: 'SymbolicLink', target: '../lib/tool' },
        { name: 'app/setuid', type: 'File', body: 'x', mode: 0o4755 },
      ]),
    },
  );
  server.serve('/app.tar', { kind: 'file', body: tarball([{ name: 'plain.txt', type: 'File', body: 'plain' }], false) });
  server.serve(
    '/app.zip',
    {
      kind: 'file',
      body: zipFile([
        { name: 'site/' },
        { name: 'site/index.html', body: '<h1>hi</h1>' },
        { name: 'site/js/app.js', body: 'run()', mode: 0o755 },
        { name: 'site/current', target: 'js' },
      ]),
    },
  );
  server.serve('/slip.zip', { kind: 'file', body: zipFile([{ name: 'ok.txt', body: 'ok' }, { name: '../evil.txt', body: 'evil' }]) });
  server.serve('/abs.zip', { kind: 'file', body: zipFile([{ name: '/tmp/evil.txt', body: 'evil' }]) });
  server.serve('/link-out.zip', { kind: 'file', body: zipFile([{ name: 'a/l', target: '../../..' }]) });
  server.serve('/slip.tar.gz', { kind: 'file', body: tarball([{ name: '../evil.txt', type: 'File', body: 'evil' }]) });
  server.serve('/deep-slip.tgz', { kind: 'file', body: tarball([{ name: 'a/../../evil.txt', type: 'File', body: 'evil' }]) });
  server.serve('/abs.tar.gz', { kind: 'file', body: tarball([{ name: '/tmp/evil.txt', type: 'File', body: 'evil' }]) });
  server.serve('/link-abs.tar.gz', { kind: 'file', body: tarball([{ name: 'etc', type: 'SymbolicLink', target: '/etc' }]) });
  server.serve(
    '/link-trick.tar.gz',
    {
      kind: 'file',
      body: tarball([
        { name: 'a', type: 'SymbolicLink', target: '.' },
        { name: 'b', type: 'SymbolicLink', target: 'a/a/..' },
      ]),
    },
  );
  server.serve('/hardlink-out.tar.gz', { kind: 'file', body: tarball([{ name: 'h', type: 'Link', target: '../x' }]) });
  server.serve('/fifo.tar.gz', { kind: 'file', body: tarball([{ name: 'f', type: 'FIFO' }]) });
  server.serve('/checkpoint.tar.gz', { kind: 'file', body: tarball([{ name: '.drover-task.json', type: 'File', body: '{}' }]) });
  server.serve('/not-a.tar.gz', { kind: 'file', body: Buffer.from('this is no archive') });
  server.serve('/not-a.zip', { kind: 'file', body: Buffer.from('this is no archive either') });
  server.serve('/cached.bin', { kind: 'file', body: Buffer.from('cache me'), delayMs: 150 });
  server.serve('/flaky', { kind: 'status', status: 503 });
  server.serve('/big.bin', { kind: 'file', body: BIG });
});
afterAll(() => server.close());

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

/** A fresh work area: <root>/sandbox (the target), <root>/cache, and <root>/local (file:// sources). */
async function workArea(): Promise<{ root: string; sandbox: string; cache: string; local: string }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-fetch-'));
  dirs.push(root);
  const area = { root, sandbox: path.join(root, 'sandbox'), cache: path.join(root, 'cache'), local: path.join(root, 'local') };
  await fs.mkdir(area.sandbox);
  await fs.mkdir(area.local);
  await fs.writeFile(path.join(area.local, 'local.txt'), 'from disk');
  outsideDir = root;
  return area;
}

function fetcher(cacheDir?: string): Fetcher {
  return new Fetcher({ logger: silentLogger(), cacheDir, idleTimeoutMs: 400 });
}

function uri(partial: Partial<FetchUri>): FetchUri {
  return FetchUri.fromPartial(partial);
}

/** What a file in the sandbox should be: its text, and optionally its permission bits. */
type Expected = string | { text?: string; mode?: number; link?: string; dir?: true };

async function check(sandbox: string, files: Record<string, Expected>): Promise<void> {
  for (const [rel, want] of Object.entries(files)) {
    const file = path.join(sandbox, rel);
    const spec = typeof want === 'string' ? { text: want } : want;
    const stat = await fs.lstat(file);
    if (spec.link !== undefined) {
      expect(stat.isSymbolicLink(), `${rel} is a symlink`).toBe(true);
      expect(await fs.readlink(file)).toBe(spec.link);
    }
    if (spec.dir === true) expect(stat.isDirectory(), `${rel} is a directory`).toBe(true);
    if (spec.text !== undefined) expect(await fs.readFile(file, 'utf8'), rel).toBe(spec.text);
    if (spec.mode !== undefined) expect(stat.mode & 0o7777, `${rel} mode`).toBe(spec.mode);
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

describe('Fetcher: artifacts that land', () => {
  it.each<{ name: string; fetch: (local: string) => Partial<FetchUri>[]; files: Record<string, Expected>; absent?: string[] }>([
    {
      name: 'plain download, named after the URI',
      fetch: () => [{ uri: server.url('/hello.txt') }],
      files: { 'hello.txt': { text: HELLO, mode: 0o644 } },
    },
    {
      name: 'dest_path in a new subdirectory',
      fetch: () => [{ uri: server.url('/hello.txt'), destPath: 'conf/./greeting.txt' }],
      files: { 'conf/greeting.txt': HELLO },
    },
    {
      name: 'executable',
      fetch: () => [{ uri: server.url('/run.sh'), executable: true }],
      files: { 'run.sh': { text: SCRIPT, mode: 0o755 } },
    },
    {
      name: 'a redirect is followed',
      fetch: () => [{ uri: server.url('/moved'), destPath: 'moved.txt' }],
      files: { 'moved.txt': HELLO },
    },
    {
      name: 'sha256 that matches (any case)',
      fetch: () => [{ uri: server.url('/hello.txt'), sha256: sha256Of(HELLO).toUpperCase() }],
      files: { 'hello.txt': HELLO },
    },
    {
      name: 'tar.gz unpacked: dirs, files, modes, inner symlink; setuid dropped; archive kept',
      fetch: () => [{ uri: server.url('/app.tar.gz') }],
      files: {
        'app.tar.gz': {},
        'app/bin': { dir: true, mode: 0o750 },
        'app/bin/run.sh': { text: SCRIPT, mode: 0o755 },
        'app/conf/settings.ini': { text: 'a=1\n', mode: 0o640 },
        'app/bin/tool': { link: '../lib/tool', text: 'tool\n' },
        'app/setuid': { mode: 0o755 },
      },
    },
    {
      name: 'tar.gz unpacked next to its dest_path',
      fetch: () => [{ uri: server.url('/app.tar.gz'), destPath: 'opt/bundle.tgz' }],
      files: { 'opt/bundle.tgz': {}, 'opt/app/bin/run.sh': { text: SCRIPT, mode: 0o755 } },
      absent: ['app'],
    },
    {
      name: 'plain .tar unpacked',
      fetch: () => [{ uri: server.url('/app.tar') }],
      files: { 'plain.txt': 'plain' },
    },
    {
      name: 'zip unpacked: dirs, files, unix modes, inner symlink',
      fetch: () => [{ uri: server.url('/app.zip') }],
      files: {
        'app.zip': {},
        site: { dir: true },
        'site/index.html': { text: '<h1>hi</h1>', mode: 0o644 },
        'site/js/app.js': { text: 'run()', mode: 0o755 },
        'site/current': { link: 'js' },
      },
    },
    {
      name: 'extract:false keeps the archive packed',
      fetch: () => [{ uri: server.url('/app.tar.gz'), extract: false }],
      files: { 'app.tar.gz': {} },
      absent: ['app'],
    },
    {
      name: 'extract:true on a name that does not say archive, the URI does',
      fetch: () => [{ uri: server.url('/app.zip'), destPath: 'bundle', extract: true }],
      files: { bundle: {}, 'site/index.html': '<h1>hi</h1>' },
    },
    {
      name: 'file:// URI copied',
      fetch: (local) => [{ uri: pathToFileURL(path.join(local, 'local.txt')).href, executable: true }],
      files: { 'local.txt': { text: 'from disk', mode: 0o755 } },
    },
    {
      name: 'several in order, a later one inside an earlier unpacked tree',
      fetch: () => [{ uri: server.url('/app.tar.gz') }, { uri: server.url('/hello.txt'), destPath: 'app/conf/hello.txt' }],
      files: { 'app/conf/hello.txt': HELLO, 'app/bin/run.sh': SCRIPT },
    },
  ])('$name', async ({ fetch, files, absent }) => {
    const area = await workArea();
    const done = await fetcher().fetchAll(fetch(area.local).map(uri), { taskId: 't', sandboxDir: area.sandbox });
    expect(done).toHaveLength(fetch(area.local).length);
    await check(area.sandbox, files);
    for (const rel of absent ?? []) expect(await exists(path.join(area.sandbox, rel)), rel).toBe(false);
    // No temp file is left behind.
    const names = await fs.readdir(area.sandbox, { recursive: true });
    expect(names.filter((n) => n.includes('.drover-fetch-'))).toEqual([]);
  });
});

describe('Fetcher: artifacts that fail the task', () => {
  it.each<{ name: string; fetch: (local: string) => Partial<FetchUri>; problem: FetchProblem; message: string | RegExp }>([
    {
      name: 'sha256 mismatch',
      fetch: () => ({ uri: server.url('/hello.txt'), sha256: 'ab'.repeat(32) }),
      problem: 'checksum',
      message: new RegExp(`^fetch http://127\\.0\\.0\\.1:\\d+/hello\\.txt: sha256 mismatch \\(expected (ab){32}, got ${sha256Of(HELLO)}\\)$`),
    },
    {
      name: 'HTTP 404',
      fetch: () => ({ uri: server.url('/missing') }),
      problem: 'http-status',
      message: /^fetch http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 404$/,
    },
    {
      name: 'no data for the idle timeout',
      fetch: () => ({ uri: server.url('/stall.bin') }),
      problem: 'timeout',
      message: /\/stall\.bin: timed out: no data for 0\.4s \(10 bytes received\)$/,
    },
    {
      name: 'connection refused',
      fetch: () => ({ uri: `http://127.0.0.1:${closedPort}/x.bin` }),
      problem: 'network',
      message: /^fetch http:\/\/127\.0\.0\.1:(\d+)\/x\.bin: connect ECONNREFUSED 127\.0\.0\.1:\1$/,
    },
    {
      name: 'dest_path with ..',
      fetch: () => ({ uri: server.url('/hello.txt'), destPath: 'a/../../escape.txt' }),
      problem: 'unsafe-path',
      message: /: dest_path "a\/\.\.\/\.\.\/escape\.txt" contains '\.\.'; it must be a path inside the sandbox$/,
    },
    {
      name: 'absolute dest_path',
      fetch: () => ({ uri: server.url('/hello.txt'), destPath: '/etc/escape.txt' }),
      problem: 'unsafe-path',
      message: /dest_path "\/etc\/escape\.txt" is absolute/,
    },
    {
      name: "dest_path onto the agent's checkpoint",
      fetch: () => ({ uri: server.url('/hello.txt'), destPath: '.drover-task.json' }),
      problem: 'unsafe-path',
      message: /the agent's checkpoint file/,
    },
    {
      name: 'a URI file name that decodes to a path',
      fetch: () => ({ uri: server.url('/dir/..%2Fescape.txt') }),
      problem: 'unsafe-path',
      message: /file name "\.\.\/escape\.txt" is not a safe file name: set dest_path$/,
    },
    {
      name: 'a URI with no file name',
      fetch: () => ({ uri: server.url('/') }),
      problem: 'invalid',
      message: /the URI has no file name: set dest_path$/,
    },
    {
      name: 'zip-slip entry',
      fetch: () => ({ uri: server.url('/slip.zip') }),
      problem: 'unsafe-path',
      message: /slip\.zip: archive entry "\.\.\/evil\.txt" contains '\.\.': refused$/,
    },
    {
      name: 'absolute zip entry',
      fetch: () => ({ uri: server.url('/abs.zip') }),
      problem: 'unsafe-path',
      message: /archive entry "\/tmp\/evil\.txt" is absolute: refused$/,
    },
    {
      name: 'zip symlink out of the target',
      fetch: () => ({ uri: server.url('/link-out.zip') }),
      problem: 'unsafe-path',
      message: /archive entry "a\/l" is a symlink to "\.\.\/\.\.\/\.\.", outside the directory it is extracted to: refused$/,
    },
    {
      name: 'tar ../ entry',
      fetch: () => ({ uri: server.url('/slip.tar.gz') }),
      problem: 'unsafe-path',
      message: /archive entry "\.\.\/evil\.txt" contains '\.\.': refused$/,
    },
    {
      name: 'tar entry with .. in the middle',
      fetch: () => ({ uri: server.url('/deep-slip.tgz') }),
      problem: 'unsafe-path',
      message: /archive entry "a\/\.\.\/\.\.\/evil\.txt" contains '\.\.'/,
    },
    {
      name: 'absolute tar entry',
      fetch: () => ({ uri: server.url('/abs.tar.gz') }),
      problem: 'unsafe-path',
      message: /archive entry "\/tmp\/evil\.txt" is absolute/,
    },
    {
      name: 'tar symlink to an absolute path',
      fetch: () => ({ uri: server.url('/link-abs.tar.gz') }),
      problem: 'unsafe-path',
      message: /archive entry "etc" is a symlink to the absolute path "\/etc": refused$/,
    },
    {
      name: 'tar symlink that is inside only lexically',
      fetch: () => ({ uri: server.url('/link-trick.tar.gz') }),
      problem: 'unsafe-path',
      message: /archive entry "b" is a symlink to "a\/a\/\.\.", which has '\.\.' after a name/,
    },
    {
      name: 'tar hard link out of the target',
      fetch: () => ({ uri: server.url('/hardlink-out.tar.gz') }),
      problem: 'unsafe-path',
      message: /archive entry "h" is a hard link whose target contains '\.\.'/,
    },
    {
      name: 'tar FIFO',
      fetch: () => ({ uri: server.url('/fifo.tar.gz') }),
      problem: 'unsafe-path',
      message: /archive entry "f" is a FIFO/,
    },
    {
      name: "tar entry onto the agent's checkpoint",
      fetch: () => ({ uri: server.url('/checkpoint.tar.gz') }),
      problem: 'unsafe-path',
      message: /would overwrite the agent's checkpoint/,
    },
    {
      name: 'a .tar.gz that is not one',
      fetch: () => ({ uri: server.url('/not-a.tar.gz') }),
      problem: 'archive',
      message: /not-a\.tar\.gz: cannot unpack not-a\.tar\.gz: /,
    },
    {
      name: 'a .zip that is not one',
      fetch: () => ({ uri: server.url('/not-a.zip') }),
      problem: 'archive',
      message: /not-a\.zip: cannot unpack not-a\.zip: /,
    },
    {
      name: 'extract:true on a non-archive',
      fetch: () => ({ uri: server.url('/hello.txt'), extract: true }),
      problem: 'invalid',
      message: /extract is set but "hello\.txt" is not a \.tar\.gz, \.tgz, \.tar or \.zip$/,
    },
    {
      name: 'unsupported scheme',
      fetch: () => ({ uri: 'ftp://example.com/x.bin' }),
      problem: 'invalid',
      message: 'fetch ftp://example.com/x.bin: unsupported scheme ftp: (use http, https or file)',
    },
    {
      name: 'missing file:// source',
      fetch: (local) => ({ uri: pathToFileURL(path.join(local, 'nope.txt')).href }),
      problem: 'io',
      message: /nope\.txt: ENOENT: no such file or directory/,
    },
    {
      name: 'password masked in the message',
      fetch: () => ({ uri: server.url('/missing').replace('http://', 'http://bob:secret@') }),
      problem: 'http-status',
      message: /^fetch http:\/\/bob:\*\*\*@127\.0\.0\.1:\d+\/missing: HTTP 404$/,
    },
  ])('$name', async ({ fetch, problem, message }) => {
    const area = await workArea();
    const error = await fetcher()
      .fetchAll([uri(fetch(area.local))], { taskId: 't', sandboxDir: area.sandbox })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(FetchError);
    const fetchError = error as FetchError;
    expect(fetchError.problem).toBe(problem);
    if (typeof message === 'string') expect(fetchError.rawMessage).toBe(message);
    else expect(fetchError.rawMessage).toMatch(message);
    expect(fetchError.rawMessage).not.toMatch(/\n/);
    // Nothing escaped the sandbox, and no temp or half-written download is left.
    expect(await exists(path.join(outsideDir, 'evil.txt'))).toBe(false);
    expect(await exists(path.join(area.root, 'escape.txt'))).toBe(false);
    const names = await fs.readdir(area.sandbox, { recursive: true });
    expect(names.filter((n) => n.includes('.drover-fetch-') || n.endsWith('evil.txt') || n.endsWith('.bin'))).toEqual([]);
  });

  it('stops a download when the task is killed', async () => {
    const area = await workArea();
    const kill = new AbortController();
    const pending = fetcher().fetchAll([uri({ uri: server.url('/stall.bin') })], {
      taskId: 't',
      sandboxDir: area.sandbox,
      signal: kill.signal,
    });
    setTimeout(() => kill.abort(), 50);
    await expect(pending).rejects.toMatchObject({ problem: 'canceled' });
  });

  it('stops every download when closed', async () => {
    const area = await workArea();
    const f = fetcher();
    const pending = f.fetchAll([uri({ uri: server.url('/stall.bin') })], { taskId: 't', sandboxDir: area.sandbox });
    setTimeout(() => f.close(), 50);
    await expect(pending).rejects.toMatchObject({ problem: 'canceled', rawMessage: /the agent is stopping$/ });
  });
});

describe('Fetcher: large downloads', () => {
  it('streams a 24 MiB artifact, checks it, and logs its progress', async () => {
    const area = await workArea();
    const lines: { msg: string; fields: Record<string, unknown> }[] = [];
    const logger = {
      child: () => logger,
      info: (fields: Record<string, unknown>, msg: string) => lines.push({ msg, fields }),
      warn: () => undefined,
    } as unknown as Logger;
    const f = new Fetcher({ logger, idleTimeoutMs: 2000, progressIntervalMs: 0 });
    const [done] = await f.fetchAll([uri({ uri: server.url('/big.bin'), sha256: sha256Of(BIG) })], {
      taskId: 't',
      sandboxDir: area.sandbox,
    });
    expect(done?.bytes).toBe(BIG.length);
    expect((await fs.stat(path.join(area.sandbox, 'big.bin'))).size).toBe(BIG.length);
    const progress = lines.filter((l) => l.msg === 'fetch progress');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)?.fields).toMatchObject({ total: BIG.length });
    expect(lines.at(-1)).toMatchObject({ msg: 'fetched', fields: { bytes: BIG.length, cache: 'off' } });
  });
});

describe('Fetcher: the cache', () => {
  it('serves a second task from the cache without a request, keyed by uri and sha256', async () => {
    const area = await workArea();
    const f = fetcher(area.cache);
    const spec = uri({ uri: server.url('/cached.bin'), cache: true, executable: true });
    const before = server.hitsOf('/cached.bin');
    const first = path.join(area.root, 'sandbox-1');
    const second = path.join(area.root, 'sandbox-2');
    await fs.mkdir(first);
    await fs.mkdir(second);
    const [one] = await f.fetchAll([spec], { taskId: 't1', sandboxDir: first });
    const [two] = await f.fetchAll([spec], { taskId: 't2', sandboxDir: second });
    expect([one?.cache, two?.cache]).toEqual(['miss', 'hit']);
    expect(server.hitsOf('/cached.bin') - before).toBe(1);
    await check(second, { 'cached.bin': { text: 'cache me', mode: 0o755 } });
    // A new agent on the same work dir keeps using the cache.
    const [three] = await fetcher(area.cache).fetchAll([spec], { taskId: 't3', sandboxDir: area.sandbox });
    expect(three?.cache).toBe('hit');
    expect(server.hitsOf('/cached.bin') - before).toBe(1);
    // The cached copy was not touched by the task's chmod.
    const entries = (await fs.readdir(area.cache)).sort();
    expect(entries).toHaveLength(2);
    const data = entries.find((e) => !e.endsWith('.json')) ?? '';
    expect((await fs.stat(path.join(area.cache, data))).mode & 0o777).toBe(0o644);
    expect(JSON.parse(await fs.readFile(path.join(area.cache, `${data}.json`), 'utf8'))).toMatchObject({
      uri: server.url('/cached.bin'),
      sha256: '',
      bytes: 8,
    });
    // Another sha256 is another entry: downloaded (and checked) again.
    const withSum = uri({ uri: server.url('/cached.bin'), cache: true, sha256: sha256Of('cache me') });
    const [four] = await f.fetchAll([withSum], { taskId: 't4', sandboxDir: first });
    expect(four?.cache).toBe('miss');
    expect(server.hitsOf('/cached.bin') - before).toBe(2);
  });

  it('downloads once for concurrent fetches of one key', async () => {
    const area = await workArea();
    const f = fetcher(area.cache);
    const spec = uri({ uri: server.url('/cached.bin'), cache: true, sha256: sha256Of('cache me') });
    const before = server.hitsOf('/cached.bin');
    const sandboxes = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const dir = path.join(area.root, `task-${n}`);
        await fs.mkdir(dir);
        return dir;
      }),
    );
    const results = await Promise.all(sandboxes.map((dir, n) => f.fetchAll([spec], { taskId: `t${n}`, sandboxDir: dir })));
    expect(server.hitsOf('/cached.bin') - before).toBe(1);
    expect(results.map((r) => r[0]?.cache).sort()).toEqual(['joined', 'joined', 'miss']);
    for (const dir of sandboxes) await check(dir, { 'cached.bin': 'cache me' });
  });

  it('caches nothing when the download fails, and asks again next time', async () => {
    const area = await workArea();
    const f = fetcher(area.cache);
    const spec = uri({ uri: server.url('/flaky'), cache: true });
    await expect(f.fetchAll([spec], { taskId: 't1', sandboxDir: area.sandbox })).rejects.toMatchObject({ problem: 'http-status' });
    await expect(f.fetchAll([spec], { taskId: 't2', sandboxDir: area.sandbox })).rejects.toMatchObject({ problem: 'http-status' });
    expect(server.hitsOf('/flaky')).toBe(2);
    expect(await fs.readdir(area.cache)).toEqual([]);
  });

  it('does not cache a mismatching download', async () => {
    const area = await workArea();
    const f = fetcher(area.cache);
    const spec = uri({ uri: server.url('/dl'), cache: true, sha256: '00'.repeat(32) });
    await expect(f.fetchAll([spec], { taskId: 't1', sandboxDir: area.sandbox })).rejects.toMatchObject({ problem: 'checksum' });
    expect(await fs.readdir(area.cache)).toEqual([]);
  });

  it('downloads every time without cache: true', async () => {
    const area = await workArea();
    const f = fetcher(area.cache);
    const before = server.hitsOf('/dl');
    const spec = uri({ uri: server.url('/dl') });
    await f.fetchAll([spec], { taskId: 't1', sandboxDir: area.sandbox });
    await f.fetchAll([spec], { taskId: 't2', sandboxDir: area.sandbox });
    expect(server.hitsOf('/dl') - before).toBe(2);
    await check(area.sandbox, { dl: HELLO });
  });
});
