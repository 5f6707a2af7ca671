/**
 * /v2/apps and /v2/tasks: thin adapters from Marathon's requests to the
 * AppService and TaskService every API shares. App ids contain slashes
 * (`/v2/apps/prod/web`, also written `/v2/apps//prod/web`), so everything
 * under /v2/apps/ is one wildcard route, resolved by resolveAppPath the
 * way Marathon's resources match: a trailing `restart`, `tasks[/{taskId}]`
 * or `versions[/{version}]` is a sub-resource for the methods it takes.
 */
import { appSpecToDefinition, Code, DroverError, type FieldViolation, normalizeAppId, NotFoundError } from '@drover/common';
import type { App, Task } from '@drover/proto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeResult } from '../../../services/app-service.js';
import type { ApiServices } from '../../api-services.js';
import { appDefinitionJson, appJson, type Json, taskJson } from './app-json.js';
import { fromMarathonApp, parseWith } from './marathon-app-input.js';

/** What a request under /v2/apps/ addresses. */
export type AppPath =
  | { readonly kind: 'app'; readonly id: string }
  | { readonly kind: 'restart'; readonly id: string }
  | { readonly kind: 'tasks'; readonly id: string }
  | { readonly kind: 'task'; readonly id: string; readonly taskId: string }
  | { readonly kind: 'versions'; readonly id: string }
  | { readonly kind: 'version'; readonly id: string; readonly version: string }
  /** Nothing after /v2/apps/: the collection. */
  | { readonly kind: 'collection' }
  /** Not a route (POST to an app). */
  | { readonly kind: 'unknown' };

/** Resolves the part after /v2/apps/ for a method. */
export function resolveAppPath(method: string, rest: string): AppPath {
  const segments = rest.split('/').filter((s) => s !== '');
  const [last, previous] = [segments.at(-1), segments.at(-2)];
  const id = (drop: number): string => `/${segments.slice(0, segments.length - drop).join('/')}`;
  if (segments.length === 0) return { kind: 'collection' };
  if (segments.length > 1) {
    if (method === 'POST' && last === 'restart') return { kind: 'restart', id: id(1) };
    if ((method === 'GET' || method === 'DELETE') && last === 'tasks') return { kind: 'tasks', id: id(1) };
    if (method === 'GET' && last === 'versions') return { kind: 'versions', id: id(1) };
  }
  if (segments.length > 2 && last !== undefined) {
    if (method === 'DELETE' && previous === 'tasks') return { kind: 'task', id: id(2), taskId: last };
    if (method === 'GET' && previous === 'versions') return { kind: 'version', id: id(2), version: last };
  }
  return method === 'POST' ? { kind: 'unknown' } : { kind: 'app', id: id(0) };
}

type Query = Record<string, string | string[] | undefined>;

/** Registers /v2/apps[/...] and /v2/tasks. */
export function appsRoutes(v2: FastifyInstance, core: ApiServices): void {
  const routes = new AppsRoutes(core);
  v2.get('/apps', (req) => routes.list(req.query as Query));
  v2.post('/apps', (req, reply) => routes.create(req.body, req.query as Query, reply));
  v2.get('/tasks', () => ({ tasks: core.tasks.list().tasks.filter((t) => t.appId !== '').map((t) => routes.task(t)) }));
  v2.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'POST'],
    url: '/apps/*',
    handler: (req, reply) => routes.dispatch(req, reply),
  });
}

class AppsRoutes {
  constructor(private readonly core: ApiServices) {}

  async dispatch(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const query = req.query as Query;
    const force = flag(query, 'force');
    const path = resolveAppPath(req.method, (req.params as { '*': string })['*']);
    switch (path.kind) {
      case 'collection':
        if (req.method === 'GET') return this.list(query);
        if (req.method === 'POST') return this.create(req.body, query, reply);
        return reply.callNotFound();
      case 'unknown':
        return reply.callNotFound();
      case 'restart': {
        const d = await this.core.apps.restart(path.id, force);
        return { version: d.version, deploymentId: d.id };
      }
      case 'tasks':
        return req.method === 'GET' ? { tasks: this.tasksOf(this.core.apps.get(path.id)) } : this.killTasks(path.id, query, force);
      case 'task':
        return this.killTask(path.id, path.taskId, flag(query, 'scale'), force);
      case 'versions':
        return { versions: this.core.apps.versions(path.id).map((v) => v.version) };
      case 'version':
        return appDefinitionJson(this.core.apps.version(path.id, path.version), path.version);
      case 'app':
        switch (req.method) {
          case 'GET':
            return { app: this.appJson(this.core.apps.get(path.id), true) };
          case 'PUT':
            return this.replace(path.id, req.body, force, reply);
          case 'PATCH':
            return this.patch(path.id, req.body, force);
          case 'DELETE':
            await this.core.apps.delete(path.id, force);
            // Deleting is immediate in Drover (tasks are killed at once), so no deployment carries it.
            return { version: new Date().toISOString(), deploymentId: null };
          default:
            return reply.callNotFound();
        }
    }
  }

  /** GET /v2/apps: every app (`?id=` / `?cmd=` keep those containing the text; `embed=apps.tasks` adds tasks). */
  list(query: Query): { apps: Json[] } {
    const embed = values(query.embed);
    const withTasks = embed.includes('apps.tasks') || embed.includes('app.tasks');
    const [idPart] = values(query.id);
    const [cmdPart] = values(query.cmd);
    const apps = this.core.apps
      .list()
      .filter((a) => (idPart === undefined || (a.spec?.id ?? '').includes(idPart)) && (cmdPart === undefined || (a.spec?.cmd ?? '').includes(cmdPart)))
      .sort((a, b) => (a.spec?.id ?? '').localeCompare(b.spec?.id ?? ''));
    return { apps: apps.map((a) => this.appJson(a, withTasks)) };
  }

  /** POST /v2/apps: creates; an existing id is a conflict, as in Marathon. */
  async create(body: unknown, query: Query, reply: FastifyReply): Promise<Json> {
    const { definition, violations } = fromMarathonApp(body);
    const spec = parseWith(definition, violations);
    // No await between this check and deploy's own lookup: nothing can sneak in.
    if (this.findApp(spec.id)) throw new DroverError(`An app with id [${spec.id}] already exists.`, Code.AlreadyExists);
    const { app } = await this.core.apps.deploy(spec, flag(query, 'force'));
    reply.code(201).header('location', `/v2/apps${spec.id}`);
    return this.appJson(app, false);
  }

  /** PUT /v2/apps/{id}: creates or replaces the definition; without `instances` the count is kept. */
  private async replace(id: string, body: unknown, force: boolean, reply: FastifyReply): Promise<Json> {
    const appId = normalizeAppId(id);
    const { definition, violations } = fromMarathonApp(body);
    const existing = this.findApp(appId);
    const adjusted = isRecord(definition)
      ? { ...definition, id: appId, ...(definition.instances === undefined && existing ? { instances: existing.spec?.instances } : {}) }
      : definition;
    const spec = parseWith(adjusted, [...violations, ...idMismatch(appId, body)]);
    const result = await this.core.apps.deploy(spec, force);
    reply.code(result.created ? 201 : 200);
    return changeJson(result);
  }

  /** PATCH /v2/apps/{id}: the given fields replace the current ones (cmd replaces args and the other way round). */
  private async patch(id: string, body: unknown, force: boolean): Promise<Json> {
    const current = this.core.apps.get(id);
    const appId = current.spec?.id ?? normalizeAppId(id);
    const { definition: changes, violations } = fromMarathonApp(body);
    let merged: unknown = changes;
    if (isRecord(changes)) {
      const base: Json = current.spec ? appSpecToDefinition(current.spec) : {};
      if ('cmd' in changes && !('args' in changes)) delete base.args;
      if ('args' in changes && !('cmd' in changes)) delete base.cmd;
      merged = { ...base, ...changes, id: appId };
    }
    const spec = parseWith(merged, [...violations, ...idMismatch(appId, body)]);
    return changeJson(await this.core.apps.deploy(spec, force));
  }

  /** DELETE /v2/apps/{id}/tasks[?host=][&scale=true]: kills the app's tasks (on one host). */
  private async killTasks(id: string, query: Query, force: boolean): Promise<Json> {
    const app = this.core.apps.get(id);
    const [host] = values(query.host);
    const tasks = this.core.tasks.list({ appId: app.spec?.id }).tasks.filter((t) => host === undefined || t.host === host);
    if (flag(query, 'scale')) return changeJson(await this.core.apps.killAndScale(app.spec?.id ?? id, tasks.map((t) => t.id), force));
    const killed: Task[] = [];
    for (const t of tasks) killed.push(await this.core.tasks.kill(t.id));
    return { tasks: killed.map((t) => this.task(t, app)) };
  }

  /** DELETE /v2/apps/{id}/tasks/{taskId}[?scale=true]. */
  private async killTask(id: string, taskId: string, scale: boolean, force: boolean): Promise<Json> {
    const app = this.core.apps.get(id);
    const appId = app.spec?.id ?? normalizeAppId(id);
    if (this.core.tasks.get(taskId).appId !== appId) throw new NotFoundError('task', taskId);
    if (scale) return changeJson(await this.core.apps.killAndScale(appId, [taskId], force));
    return { task: this.task(await this.core.tasks.kill(taskId), app) };
  }

  /** A task in Marathon's shape, with health check results when its app has checks. */
  task(t: Task, app?: App): Json {
    const owner = app ?? this.findApp(t.appId);
    const checks = owner?.spec?.healthChecks.length ?? 0;
    return taskJson(t, { checks, consecutiveFailures: this.core.state.task(t.id)?.healthFailures ?? 0 });
  }

  private tasksOf(app: App): Json[] {
    return this.core.tasks.list({ appId: app.spec?.id }).tasks.map((t) => this.task(t, app));
  }

  private appJson(app: App, withTasks: boolean): Json {
    return appJson(app, withTasks ? { tasks: this.tasksOf(app) } : {});
  }

  private findApp(id: string): App | undefined {
    try {
      return this.core.apps.get(id);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }
}

/** Marathon's answer to a change: the version and the deployment carrying it out (null when nothing changed). */
function changeJson(result: ChangeResult): Json {
  return { version: result.deployment?.version ?? result.app.version, deploymentId: result.deployment?.id ?? null };
}

/** A body id that names another app than the URL. */
function idMismatch(appId: string, body: unknown): FieldViolation[] {
  if (!isRecord(body) || typeof body.id !== 'string' || normalizeAppId(body.id) === appId) return [];
  return [{ path: 'id', message: `is ${body.id} but the URL names ${appId}` }];
}

/** A boolean query parameter (Marathon's `?force=true`). */
function flag(query: Query, name: string): boolean {
  return values(query[name]).some((v) => v.toLowerCase() === 'true');
}

function values(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
