import { Code, DroverError, NotFoundError, ValidationError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { AppLockedError } from '../../../deployments/deployment-manager.js';
import { APP_LOCKED_MESSAGE, marathonErrorReply, marathonPath } from './marathon-errors.js';

describe('marathonPath', () => {
  it.each([
    { name: 'whole document', path: '', expected: '/' },
    { name: 'top-level field', path: 'cpus', expected: '/cpus' },
    { name: 'list element field', path: 'portDefinitions[1].port', expected: '/portDefinitions(1)/port' },
    { name: 'list element', path: 'constraints[0]', expected: '/constraints(0)' },
    { name: 'nested object', path: 'upgradeStrategy.maximumOverCapacity', expected: '/upgradeStrategy/maximumOverCapacity' },
    { name: 'map key', path: 'env.LOG_LEVEL', expected: '/env/LOG_LEVEL' },
    { name: 'deep', path: 'healthChecks[2].command', expected: '/healthChecks(2)/command' },
  ])('$name: $path -> $expected', ({ path, expected }) => {
    expect(marathonPath(path)).toBe(expected);
  });
});

describe('marathonErrorReply', () => {
  const fastifyJsonError = Object.assign(new Error("Body is not valid JSON but content-type is set to 'application/json'"), {
    code: 'FST_ERR_CTP_INVALID_JSON_BODY',
    statusCode: 400,
  });
  const fastifyMediaType = Object.assign(new Error('Unsupported Media Type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 });

  it.each<{ name: string; error: unknown; status: number; body: Record<string, unknown> }>([
    {
      name: 'validation: 422 with details grouped by Marathon path',
      error: new ValidationError([
        { path: 'cpus', message: 'must be at least 0.001' },
        { path: 'portDefinitions[1].port', message: 'must be at most 65535' },
        { path: 'portDefinitions[1].port', message: 'duplicates portDefinitions[0].port (80)' },
        { path: '', message: 'an app definition must be an object' },
      ]),
      status: 422,
      body: {
        message: 'Object is not valid',
        details: [
          { path: '/cpus', errors: ['must be at least 0.001'] },
          { path: '/portDefinitions(1)/port', errors: ['must be at most 65535', 'duplicates portDefinitions[0].port (80)'] },
          { path: '/', errors: ['an app definition must be an object'] },
        ],
      },
    },
    {
      name: 'locked app: 409 with the deployments',
      error: new AppLockedError('/web', ['d-1']),
      status: 409,
      body: { message: APP_LOCKED_MESSAGE, deployments: [{ id: 'd-1' }] },
    },
    { name: 'missing app: 404 in Marathon words', error: new NotFoundError('app', '/web'), status: 404, body: { message: "App '/web' does not exist" } },
    { name: 'missing task', error: new NotFoundError('task', 'web.1'), status: 404, body: { message: "Task 'web.1' does not exist" } },
    { name: 'missing deployment', error: new NotFoundError('deployment', 'd-9'), status: 404, body: { message: 'DeploymentPlan d-9 does not exist' } },
    { name: 'missing version', error: new NotFoundError('version', 'v1 of app /web'), status: 404, body: { message: 'version v1 of app /web not found' } },
    { name: 'malformed JSON: 400', error: fastifyJsonError, status: 400, body: { message: 'Invalid JSON: the request body could not be parsed' } },
    { name: 'wrong media type keeps 415', error: fastifyMediaType, status: 415, body: { message: 'Unsupported Media Type' } },
    { name: 'already exists: 409', error: new DroverError('An app with id [/web] already exists.', Code.AlreadyExists), status: 409, body: { message: 'An app with id [/web] already exists.' } },
    { name: 'failed precondition: 409', error: new DroverError('deployment d is succeeded, not running', Code.FailedPrecondition), status: 409, body: { message: 'deployment d is succeeded, not running' } },
    { name: 'invalid argument without fields: 422', error: new DroverError('instances must be a non-negative integer', Code.InvalidArgument), status: 422, body: { message: 'instances must be a non-negative integer' } },
    { name: 'unimplemented: 501', error: new DroverError('no standbys', Code.Unimplemented), status: 501, body: { message: 'no standbys' } },
    { name: 'anything else: 500', error: new TypeError('x is undefined'), status: 500, body: { message: 'x is undefined' } },
  ])('$name', ({ error, status, body }) => {
    expect(marathonErrorReply(error)).toEqual({ status, body });
  });
});
