import { describe, expect, it } from 'vitest';
import { type AppPath, resolveAppPath } from './apps-routes.js';

describe('resolveAppPath', () => {
  it.each<{ method: string; rest: string; expected: AppPath }>([
    { method: 'GET', rest: 'web', expected: { kind: 'app', id: '/web' } },
    { method: 'GET', rest: 'prod/web', expected: { kind: 'app', id: '/prod/web' } },
    { method: 'GET', rest: '/prod/web', expected: { kind: 'app', id: '/prod/web' } },
    { method: 'PUT', rest: 'prod/web/', expected: { kind: 'app', id: '/prod/web' } },
    { method: 'PATCH', rest: 'prod/web', expected: { kind: 'app', id: '/prod/web' } },
    { method: 'DELETE', rest: 'prod/web', expected: { kind: 'app', id: '/prod/web' } },
    { method: 'GET', rest: '', expected: { kind: 'collection' } },
    { method: 'POST', rest: '/', expected: { kind: 'collection' } },
    { method: 'POST', rest: 'prod/web/restart', expected: { kind: 'restart', id: '/prod/web' } },
    { method: 'POST', rest: 'prod/web', expected: { kind: 'unknown' } },
    { method: 'GET', rest: 'prod/web/tasks', expected: { kind: 'tasks', id: '/prod/web' } },
    { method: 'DELETE', rest: 'prod/web/tasks', expected: { kind: 'tasks', id: '/prod/web' } },
    { method: 'DELETE', rest: 'prod/web/tasks/prod_web.1f2e', expected: { kind: 'task', id: '/prod/web', taskId: 'prod_web.1f2e' } },
    { method: 'GET', rest: 'prod/web/versions', expected: { kind: 'versions', id: '/prod/web' } },
    { method: 'GET', rest: 'prod/web/versions/2024-01-02T03:04:05.006Z', expected: { kind: 'version', id: '/prod/web', version: '2024-01-02T03:04:05.006Z' } },
    // A lone "tasks" or "restart" is an app id, as in Marathon.
    { method: 'GET', rest: 'tasks', expected: { kind: 'app', id: '/tasks' } },
    { method: 'PUT', rest: 'prod/restart', expected: { kind: 'app', id: '/prod/restart' } },
  ])('$method $rest', ({ method, rest, expected }) => {
    expect(resolveAppPath(method, rest)).toEqual(expected);
  });
});
