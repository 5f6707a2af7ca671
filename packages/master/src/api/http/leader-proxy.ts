/**
 * A standby's REST and event stream: passed through to the leader, as
 * Marathon's LeaderProxyFilter does, so a user or a load balancer may send
 * Marathon tooling to any master. Everything under /v2 is forwarded except
 * GET /v2/info and GET /v2/leader, which every master answers itself (they
 * say who leads); /ping and /metrics describe this master and stay local.
 *
 * - The request goes out as it came (method, path, query, headers, the body
 *   as a stream: it is not parsed here), so Last-Event-ID reaches the
 *   leader and an SSE answer streams back as the leader writes it. No
 *   timeout applies to a body: an event stream lasts as long as its client.
 * - Who may call is decided here first (http-access.ts runs before this
 *   hook): the leader then sees this master, which with TLS presents its
 *   own certificate (role master, which the leader's policy lets do
 *   whatever a client may).
 * - Loops: the forwarded request carries Marathon's `X-Marathon-Via: 1.1
 *   <this master>`. A standby never forwards a request that already carries
 *   one: two standbys that each believe the other leads would otherwise
 *   pass it around. It answers 502 "Detected proxying loop" as Marathon
 *   does.
 * - No leader known (an election under way): 503 with a message saying so.
 *   A leader that cannot be reached: 502, as Marathon.
 */
import replyFrom from '@fastify/reply-from';
import type { TlsMaterial } from '@drover/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Leadership } from '../../leadership/leadership.js';

/** Marathon's header marking a request one master forwarded to another. */
export const VIA_HEADER = 'x-marathon-via';

/** What the proxy needs to know. */
export interface LeaderProxyOptions {
  /** Whether this master leads, and the leader's HTTP address. */
  readonly leadership: Pick<Leadership, 'isLeader' | 'leaderHttpAddress'>;
  /** This master's own HTTP address, for the Via header. */
  readonly self: () => string;
  /** The master's TLS material: the leader is then reached over HTTPS, presenting this master's certificate. */
  readonly tls?: TlsMaterial;
}

/** True for the requests a standby forwards. */
export function forwardedByStandby(method: string, path: string): boolean {
  if (path !== '/v2' && !path.startsWith('/v2/')) return false;
  const local = path === '/v2/info' || path === '/v2/leader';
  return !(local && (method === 'GET' || method === 'HEAD'));
}

/** Adds the proxy to `app`; register it after the access check. */
export async function registerLeaderProxy(app: FastifyInstance, options: LeaderProxyOptions): Promise<void> {
  const { leadership, tls } = options;
  await app.register(replyFrom, {
    disableRequestLogging: true,
    undici: {
      // An event stream may stay quiet for a heartbeat and last for days.
      bodyTimeout: 0,
      ...(tls ? { connect: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {}),
    },
  });
  const scheme = tls ? 'https' : 'http';
  app.addHook('onRequest', async (req, reply) => {
    if (leadership.isLeader) return;
    const path = req.url.split('?')[0] ?? '';
    if (!forwardedByStandby(req.method, path)) return;
    const via = req.headers[VIA_HEADER];
    if (via !== undefined) {
      return reply.code(502).send({ message: `Detected proxying loop: this master is not the leader, and the request was already forwarded (${VIA_HEADER}: ${String(via)})` });
    }
    const leader = leadership.leaderHttpAddress;
    if (leader === '') {
      return reply.code(503).send({ message: 'this master is a standby and no leader is known yet (an election may be under way, or the masters cannot reach a majority of their etcd members): retry shortly' });
    }
    // Not parsed: the body goes to the leader as the client sent it.
    if (hasBody(req)) (req as { body: unknown }).body = req.raw;
    const viaValue = `1.1 ${options.self()}`;
    return reply.from(`${scheme}://${leader}${req.url}`, {
      rewriteRequestHeaders: (_req, headers) => ({ ...headers, [VIA_HEADER]: viaValue }),
      rewriteHeaders: (headers) => ({ ...headers, [VIA_HEADER]: viaValue }),
      onError: (r, { error }) => {
        r.code(502).send({ message: `cannot reach the leader at ${leader}: ${error.message}` });
      },
    });
  });
}

/** GET and HEAD never carry one; other methods do when they say so. */
function hasBody(req: FastifyRequest): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
