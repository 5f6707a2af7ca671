/**
 * Every error the Marathon REST API answers with, mapped in this one place
 * (the gRPC twin is toGrpcError). Shapes are Marathon's:
 *
 * - invalid input: 422 `{message: "Object is not valid", details: [{path, errors}]}`,
 *   paths in Marathon's style (`/portDefinitions(1)/port`, `/` for the whole document)
 * - app locked by a deployment: 409 `{message, deployments: [{id}]}`
 * - not found: 404 `{message}`
 * - malformed request (bad JSON, wrong media type, body too large): fastify's 4xx `{message}`
 * - anything else: the status httpStatusOf gives the error's code, `{message}`
 */
import { Code, DroverError, type FieldViolation, httpStatusOf, NotFoundError, ValidationError } from '@drover/common';
import { AppLockedError } from '../../../deployments/deployment-manager.js';

/** A status and the JSON body to send with it. */
export interface ErrorReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Marathon's text for a change refused because of a running deployment (clients look for "force=true" in it). */
export const APP_LOCKED_MESSAGE =
  "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

/** The one mapping from anything thrown to a Marathon-style error answer. */
export function marathonErrorReply(error: unknown): ErrorReply {
  if (error instanceof AppLockedError) {
    return { status: 409, body: { message: APP_LOCKED_MESSAGE, deployments: error.deploymentIds.map((id) => ({ id })) } };
  }
  if (error instanceof ValidationError) {
    return { status: 422, body: { message: 'Object is not valid', details: marathonDetails(error.violations) } };
  }
  if (error instanceof NotFoundError) return { status: 404, body: { message: notFoundMessage(error) } };
  const client = fastifyClientError(error);
  if (client) return client;
  const e = DroverError.from(error, Code.Internal);
  return { status: httpStatusOf(e.code), body: { message: e.rawMessage } };
}

/** Violations grouped by path, in first-seen order, with Marathon's paths. */
export function marathonDetails(violations: readonly FieldViolation[]): Array<{ path: string; errors: string[] }> {
  const byPath = new Map<string, string[]>();
  for (const v of violations) {
    const path = marathonPath(v.path);
    byPath.set(path, [...(byPath.get(path) ?? []), v.message]);
  }
  return [...byPath].map(([path, errors]) => ({ path, errors }));
}

/** "portDefinitions[1].port" -> "/portDefinitions(1)/port"; "" -> "/". */
export function marathonPath(path: string): string {
  if (path === '') return '/';
  let out = '';
  for (const token of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    out += token.startsWith('[') ? `(${token.slice(1, -1)})` : `/${token}`;
  }
  return out;
}

function notFoundMessage(e: NotFoundError): string {
  // Marathon's wording for the common cases; the rest keep Drover's.
  if (e.kind === 'app') return `App '${e.id}' does not exist`;
  if (e.kind === 'task') return `Task '${e.id}' does not exist`;
  if (e.kind === 'deployment') return `DeploymentPlan ${e.id} does not exist`;
  return e.rawMessage;
}

/** Fastify's own request errors (unparsable JSON, media type, size) keep their 4xx status. */
function fastifyClientError(error: unknown): ErrorReply | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode, message } = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number') return undefined;
  if (statusCode < 400 || statusCode >= 500) return undefined;
  const text = code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'Invalid JSON: the request body could not be parsed' : String(message);
  return { status: statusCode, body: { message: text } };
}
