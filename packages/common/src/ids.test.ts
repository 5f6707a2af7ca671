import { describe, expect, it } from 'vitest';
import { appIdProblem, newTaskId, normalizeAppId } from './ids.js';

describe('ids', () => {
  it.each([
    ['web', '/web'],
    ['/web', '/web'],
    ['/prod/web/', '/prod/web'],
  ])('normalizes %s to %s', (id, out) => {
    expect(normalizeAppId(id)).toBe(out);
  });

  it.each(['', '/', 'Web', '-web', 'web-', 'a/b_c', 'a b'])('finds a problem with %j', (id) => {
    expect(appIdProblem(id)).toBeDefined();
  });

  it.each(['web', '/prod/web-1', 'a.b/c'])('accepts %j', (id) => {
    expect(appIdProblem(id)).toBeUndefined();
  });

  it('names tasks after their app', () => {
    expect(newTaskId('/prod/web')).toMatch(/^prod_web\.[0-9a-f-]{36}$/);
  });
});
