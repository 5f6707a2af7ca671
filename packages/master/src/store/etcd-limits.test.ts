/**
 * The limits the etcd store needs reach members the way they are installed:
 * scripts/etcd-limits writes them into an etcd environment file (what
 * scripts/install --etcd-member does for Debian's etcd-server), and a member
 * started with that environment takes the store's transactions.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdCluster, describeWithEtcd } from '@drover/common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskRecord } from './conformance/store-conformance.js';
import { ETCD_MAX_REQUEST_BYTES, ETCD_MAX_TXN_OPS, ETCD_MEMBER_FLAGS } from './etcd-limits.js';
import { EtcdStore } from './etcd-store.js';

const SCRIPT = fileURLToPath(new URL('../../../../scripts/etcd-limits', import.meta.url));

/** Runs scripts/etcd-limits on a file holding `before`; returns the file's variables. */
function written(before: string): { text: string; vars: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-etcd-limits-'));
  try {
    const file = path.join(dir, 'etcd');
    fs.writeFileSync(file, before);
    execFileSync('bash', [SCRIPT, file], { stdio: 'ignore' });
    execFileSync('bash', [SCRIPT, file], { stdio: 'ignore' });
    const text = fs.readFileSync(file, 'utf8');
    const vars = Object.fromEntries(text.split('\n').flatMap((line) => (/^([A-Z_]+)=(.*)$/.exec(line) ? [line.split('=', 2) as [string, string]] : [])));
    return { text, vars };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/etcd-limits', () => {
  it('sets the limits etcd-limits.ts names, once, keeping the other settings', () => {
    const { text, vars } = written('# etcd settings\nETCD_NAME=m1\nETCD_MAX_TXN_OPS=128\n');
    expect(vars).toEqual({ ETCD_NAME: 'm1', ETCD_MAX_TXN_OPS: String(ETCD_MAX_TXN_OPS), ETCD_MAX_REQUEST_BYTES: String(ETCD_MAX_REQUEST_BYTES) });
    expect(text.startsWith('# etcd settings\n')).toBe(true);
    expect(ETCD_MEMBER_FLAGS).toEqual([`--max-txn-ops=${ETCD_MAX_TXN_OPS}`, `--max-request-bytes=${ETCD_MAX_REQUEST_BYTES}`]);
  });
});

describeWithEtcd('a member started with the environment scripts/etcd-limits writes', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ env: written('').vars });
  }, 30_000);
  afterAll(() => cluster?.stop());

  it('takes a batch beyond etcd’s default limits (128 operations, 1.5 MiB) in one transaction', async () => {
    const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix: '/limits' });
    try {
      const tasks = Array.from({ length: 10_000 }, (_, i) => taskRecord(`t${i}`));
      await store.commit(tasks.map((task) => ({ kind: 'putTask', task })));
      expect((await store.load()).tasks).toHaveLength(10_000);
    } finally {
      await store.close();
    }
  });
});
