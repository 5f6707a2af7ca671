import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code } from '@drover/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE } from '../sandbox/sandbox.js';
import { describeAsRoot } from '../testing/root-only.js';
import { chownSandbox, parsePasswdLine, taskUser } from './task-user.js';

const root = { uid: 0, name: 'root' };
const alice = { uid: 4242, name: 'alice' };

describe('task user', () => {
  it.each([
    { name: 'a normal entry', line: 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', user: { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' } },
    { name: 'an empty gecos', line: 'app:x:1001:1002::/srv/app:/bin/sh', user: { name: 'app', uid: 1001, gid: 1002, home: '/srv/app' } },
    { name: 'a truncated line', line: 'app:x:1001', user: undefined },
    { name: 'a non-numeric uid', line: 'app:x:abc:1:x:/:/bin/sh', user: undefined },
  ])('parses $name', ({ line, user }) => {
    expect(parsePasswdLine(line)).toEqual(user);
  });

  it.each([
    { name: 'no user: the agent’s own', requested: '', agent: alice, out: undefined },
    { name: 'a root agent runs a task as nobody', requested: 'nobody', agent: root, out: { name: 'nobody', uid: 65534 } },
    { name: 'a numeric uid', requested: '65534', agent: root, out: { name: 'nobody', uid: 65534 } },
    { name: 'the agent’s own user needs no switch', requested: 'root', agent: root, out: undefined },
  ])('resolves $name', async ({ requested, agent, out }) => {
    const user = await taskUser(requested, agent);
    if (out === undefined) expect(user).toBeUndefined();
    else expect(user).toMatchObject(out);
  });

  it.each([
    { name: 'an unknown user', requested: 'no-such-user-drover', agent: root, code: Code.FailedPrecondition, message: 'user "no-such-user-drover" does not exist on this agent' },
    { name: 'another user for a non-root agent', requested: 'nobody', agent: alice, code: Code.PermissionDenied, message: 'the agent runs as alice (not root), so it cannot run a task as nobody' },
    { name: 'an option smuggled as a name', requested: '--service=x', agent: root, code: Code.InvalidArgument, message: 'user "--service=x" is not a valid user name' },
  ])('refuses $name', async ({ requested, agent, code, message }) => {
    await expect(taskUser(requested, agent)).rejects.toMatchObject({ name: 'TaskUserError', user: requested, code, rawMessage: message });
  });
});

describeAsRoot('sandbox hand-over', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-chown-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('gives everything to the user except the checkpoint, and never follows a symlink', async () => {
    const sandbox = path.join(dir, 'sandbox');
    const outside = path.join(dir, 'outside');
    await fs.mkdir(path.join(sandbox, 'sub'), { recursive: true });
    await fs.writeFile(outside, 'secret');
    await fs.writeFile(path.join(sandbox, 'sub', 'artifact'), '');
    await fs.writeFile(path.join(sandbox, 'stdout'), '');
    await fs.writeFile(path.join(sandbox, CHECKPOINT_FILE), '{}');
    await fs.writeFile(path.join(sandbox, `.${CHECKPOINT_FILE}.0a1b2c.tmp`), '{}');
    await fs.symlink(outside, path.join(sandbox, 'link'));
    await fs.symlink(dir, path.join(sandbox, 'dir-link'));

    await chownSandbox(sandbox, { uid: 65534, gid: 65534 });

    const uid = async (p: string) => (await fs.lstat(p)).uid;
    for (const p of ['', 'sub', 'sub/artifact', 'stdout', 'link', 'dir-link']) expect(await uid(path.join(sandbox, p))).toBe(65534);
    expect(await uid(path.join(sandbox, CHECKPOINT_FILE))).toBe(0);
    expect(await uid(path.join(sandbox, `.${CHECKPOINT_FILE}.0a1b2c.tmp`))).toBe(0);
    expect(await uid(outside)).toBe(0);
    expect(await uid(dir)).toBe(0);
  });
});
