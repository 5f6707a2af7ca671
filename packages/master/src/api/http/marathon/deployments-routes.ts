/**
 * /v2/deployments: running deployments in Marathon's shape, and DELETE to
 * roll one back (or, with `?force=true`, just stop it: 202 and no body, as
 * in Marathon). GET /v2/deployments/{id} is Drover's addition and also
 * finds recently ended deployments.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiServices } from '../../api-services.js';
import { deploymentJson } from './deployment-json.js';

/** Registers /v2/deployments[/{id}]. */
export function deploymentsRoutes(v2: FastifyInstance, core: ApiServices): void {
  v2.get('/deployments', () => core.deployments.list().map(deploymentJson));
  v2.get<{ Params: { id: string } }>('/deployments/:id', (req) => deploymentJson(core.deployments.get(req.params.id)));
  v2.delete<{ Params: { id: string }; Querystring: { force?: string } }>('/deployments/:id', async (req, reply) => {
    const force = req.query.force?.toLowerCase() === 'true';
    const { rollback } = await core.deployments.cancel(req.params.id, force);
    // Without a rollback (forced, or nothing to go back to) the deployment just stopped.
    if (!rollback) return reply.code(202).send();
    return { version: rollback.version, deploymentId: rollback.id };
  });
}
