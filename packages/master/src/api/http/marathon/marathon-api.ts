/**
 * The Marathon-compatible REST API and event stream under /v2: a thin
 * adapter over the services the gRPC API uses (see docs/ARCHITECTURE.md,
 * "Compatibility surfaces"). Routes live per resource (apps-routes.ts,
 * deployments-routes.ts, server-routes.ts, event-stream.ts); every error
 * leaves through marathonErrorReply.
 */
import { NotFoundError } from '@drover/common';
import type { FastifyInstance } from 'fastify';
import type { ApiServices } from '../../api-services.js';
import { appsRoutes } from './apps-routes.js';
import type { SpecLookup } from './deployment-json.js';
import { deploymentsRoutes } from './deployments-routes.js';
import { type EventStreamOptions, EventStreams } from './event-stream.js';
import { marathonErrorReply } from './marathon-errors.js';
import { type ServerFacts, serverRoutes } from './server-routes.js';

/** What the API serves from. */
export interface MarathonApiContext {
  readonly core: ApiServices;
  readonly facts: ServerFacts;
  readonly events?: EventStreamOptions;
}

/** Registers /v2/* on `app`; open event streams are ended when `app` closes. */
export function registerMarathonApi(app: FastifyInstance, ctx: MarathonApiContext): EventStreams {
  const streams = new EventStreams(ctx.core.events, specLookup(ctx.core), ctx.events);
  app.addHook('preClose', (done) => {
    streams.closeAll();
    done();
  });
  app.register(
    async (v2) => {
      // Many Marathon clients send Content-Type: application/json on every
      // request, bodiless DELETEs included: an empty body is no body.
      const json = v2.getDefaultJsonParser('error', 'error');
      v2.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
        const text = typeof body === 'string' ? body : body.toString('utf8');
        if (text.trim() === '') done(null, undefined);
        else json(req, text, done);
      });
      v2.setErrorHandler((error, _req, reply) => {
        const { status, body } = marathonErrorReply(error);
        return reply.code(status).send(body);
      });
      v2.setNotFoundHandler((req, reply) => reply.code(404).send({ message: `${req.method} ${req.url.split('?')[0]} is not part of the API` }));
      appsRoutes(v2, ctx.core);
      deploymentsRoutes(v2, ctx.core);
      serverRoutes(v2, ctx.facts);
      v2.get('/events', (req, reply) => streams.serve(req, reply));
    },
    { prefix: '/v2' },
  );
  return streams;
}

/** A stored version's spec, or undefined once the app or version is gone. */
function specLookup(core: ApiServices): SpecLookup {
  return (appId, version) => {
    try {
      return core.apps.version(appId, version);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  };
}
