import { describe, expect, it } from 'vitest';
import { destinationOf, unsafeRelativePath, unsafeSymlinkTarget } from './safe-paths.js';

describe('unsafeRelativePath', () => {
  it.each([
    { name: 'a plain name', path: 'app.tgz', why: undefined },
    { name: 'nested, with . and //', path: './a//b/./c', why: undefined },
    { name: 'a dotfile', path: '.env', why: undefined },
    { name: 'a name with dots', path: 'a..b/..c', why: undefined },
    { name: 'empty', path: '', why: 'is empty' },
    { name: 'absolute', path: '/etc/passwd', why: 'is absolute' },
    { name: 'leading ..', path: '../x', why: "contains '..'" },
    { name: 'inner ..', path: 'a/../../x', why: "contains '..'" },
    { name: 'only ..', path: '..', why: "contains '..'" },
    { name: 'the directory itself', path: './', why: 'names the directory itself' },
    { name: 'NUL', path: 'a\0b', why: 'contains a NUL byte' },
  ])('$name', ({ path, why }) => {
    expect(unsafeRelativePath(path)).toBe(why);
  });
});

describe('unsafeSymlinkTarget', () => {
  it.each([
    { name: 'a sibling', entry: 'bin/tool', target: 'tool-1.2', safe: true },
    { name: 'up then down', entry: 'bin/tool', target: '../lib/tool', safe: true },
    { name: 'the directory itself', entry: 'a/self', target: '.', safe: true },
    { name: 'up to the root of the target', entry: 'a/b/l', target: '../../x', safe: true },
    { name: 'one level too far up', entry: 'a/b/l', target: '../../../x', safe: false },
    { name: 'up from the root', entry: 'l', target: '..', safe: false },
    { name: 'absolute', entry: 'l', target: '/etc', safe: false },
    { name: '.. after a name', entry: 'l', target: 'a/a/..', safe: false },
    { name: 'empty', entry: 'l', target: '', safe: false },
  ])('$name', ({ entry, target, safe }) => {
    expect(unsafeSymlinkTarget(entry, target) === undefined).toBe(safe);
  });
});

describe('destinationOf', () => {
  it.each([
    { name: 'the last path segment', uri: 'https://x.test/a/b/app.tgz?sig=1', dest: '', want: 'app.tgz' },
    { name: 'a percent-encoded name', uri: 'https://x.test/my%20app.tgz', dest: '', want: 'my app.tgz' },
    { name: 'dest_path, cleaned', uri: 'https://x.test/app.tgz', dest: './opt//app.tgz', want: 'opt/app.tgz' },
    { name: 'a file URI', uri: 'file:///srv/artifacts/tool', dest: '', want: 'tool' },
  ])('$name', ({ uri, dest, want }) => {
    expect(destinationOf(new URL(uri), dest)).toBe(want);
  });
});
