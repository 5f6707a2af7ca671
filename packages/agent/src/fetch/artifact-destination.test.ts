import { describe, expect, it } from 'vitest';
import { destinationOf } from './artifact-destination.js';

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
