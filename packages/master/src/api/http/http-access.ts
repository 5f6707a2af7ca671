/**
 * Role checks on every HTTP request except the public routes (/ping),
 * before any handler runs. With TLS the port asks every client for a
 * certificate but lets the handshake finish without one, so load balancers
 * can still probe /ping; every other route then answers 401 without a
 * certificate from the cluster's CA and 403 when its role may not use it,
 * in the Marathon error shape.
 */
import { TLSSocket } from 'node:tls';
import type { Logger } from '@drover/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HTTP_ACCESS, PUBLIC_HTTP_ROUTES } from '../../auth/access-policy.js';
import { type Caller, callerOf, describeCaller } from '../../auth/caller.js';
import { requireRole } from '../../auth/require-role.js';
import { marathonErrorReply } from './marathon/marathon-errors.js';

/** The caller of a request; `secure` says whether the port serves TLS. */
export function httpCaller(req: FastifyRequest, secure: boolean): Caller {
  const socket = req.raw.socket;
  // `authorized` is true only for a certificate the cluster's CA signed.
  const verified = socket instanceof TLSSocket && socket.authorized ? socket.getPeerCertificate() : undefined;
  return callerOf(secure, verified);
}

/** Refuses, on every route but the public ones, each request whose caller's role the policy does not allow. */
export function requireHttpRoles(app: FastifyInstance, secure: boolean, log: Logger): void {
  app.addHook('onRequest', async (req, reply) => {
    // The route matched, not the URL as sent: no spelling of a path can pass for /ping.
    const route = req.routeOptions.url;
    if (route !== undefined && PUBLIC_HTTP_ROUTES.has(route)) return;
    const caller = httpCaller(req, secure);
    const what = `${req.method} ${req.url.split('?')[0]}`;
    try {
      requireRole(caller, HTTP_ACCESS, what);
    } catch (error) {
      log.warn({ request: what, caller: describeCaller(caller), peer: req.ip }, 'refused an HTTP request');
      const { status, body } = marathonErrorReply(error);
      return reply.code(status).send(body);
    }
  });
}
