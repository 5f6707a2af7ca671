/**
 * App and task identifiers. App ids are Marathon-style paths ("/prod/web");
 * task ids are "<app path with / as _>.<uuid>" ("prod_web.0f8f..."), so a
 * task id alone says which app it belongs to, as in Marathon.
 */
import { randomUUID } from 'node:crypto';

/** One path segment: lowercase letters, digits, dots and inner dashes. */
const SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

/** "web", "/web" and "/web/" all become "/web". */
export function normalizeAppId(id: string): string {
  const segments = id.trim().split('/').filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

/** Why an app id is unusable, or undefined when it is fine. */
export function appIdProblem(id: string): string | undefined {
  const segments = id.trim().split('/').filter((s) => s !== '');
  if (segments.length === 0) return 'must not be empty';
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) {
    return `segment "${bad}" must be lowercase letters, digits, dots and dashes, starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A fresh task id for an app. */
export function newTaskId(appId: string): string {
  const prefix = normalizeAppId(appId).slice(1).replaceAll('/', '_');
  return `${prefix}.${randomUUID()}`;
}

/** A fresh random id (agent ids, status update uuids). */
export function newId(): string {
  return randomUUID();
}
