import { Code, DroverError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { grpcAccess, HTTP_ACCESS } from './access-policy.js';
import type { Caller, Role } from './caller.js';
import { type Allowed, requireRole } from './require-role.js';

const cert = (role: Role | undefined): Caller => ({ kind: 'certificate', name: 'someone', role });

function outcome(caller: Caller, allowed: Allowed): 'allowed' | Code {
  try {
    requireRole(caller, allowed, 'do it');
    return 'allowed';
  } catch (error) {
    if (!(error instanceof DroverError)) throw error;
    return error.code;
  }
}

describe('requireRole', () => {
  it.each<{ name: string; caller: Caller; allowed: Allowed; expected: 'allowed' | Code }>([
    { name: 'plaintext may do anything', caller: { kind: 'plaintext' }, allowed: ['agent'], expected: 'allowed' },
    { name: 'plaintext, even what no role may', caller: { kind: 'plaintext' }, allowed: [], expected: 'allowed' },
    { name: 'no certificate', caller: { kind: 'anonymous' }, allowed: ['client'], expected: Code.Unauthenticated },
    { name: 'no certificate, where any certificate will do', caller: { kind: 'anonymous' }, allowed: 'any-certificate', expected: Code.Unauthenticated },
    { name: 'an allowed role', caller: cert('client'), allowed: ['client', 'master'], expected: 'allowed' },
    { name: 'another allowed role', caller: cert('master'), allowed: ['client', 'master'], expected: 'allowed' },
    { name: 'a role not allowed', caller: cert('agent'), allowed: ['client', 'master'], expected: Code.PermissionDenied },
    { name: 'no role', caller: cert(undefined), allowed: ['client'], expected: Code.PermissionDenied },
    { name: 'no role, where any certificate will do', caller: cert(undefined), allowed: 'any-certificate', expected: 'allowed' },
    { name: 'nobody allowed', caller: cert('master'), allowed: [], expected: Code.PermissionDenied },
  ])('$name', ({ caller, allowed, expected }) => {
    expect(outcome(caller, allowed)).toBe(expected);
  });
});

describe('access policy', () => {
  it.each<{ path: string; client: 'allowed' | Code; agent: 'allowed' | Code; master: 'allowed' | Code }>([
    { path: '/drover.v1.AgentService/Connect', client: Code.PermissionDenied, agent: 'allowed', master: Code.PermissionDenied },
    { path: '/drover.v1.Apps/Deploy', client: 'allowed', agent: Code.PermissionDenied, master: 'allowed' },
    { path: '/drover.v1.Apps/Delete', client: 'allowed', agent: Code.PermissionDenied, master: 'allowed' },
    { path: '/drover.v1.Tasks/Kill', client: 'allowed', agent: Code.PermissionDenied, master: 'allowed' },
    { path: '/drover.v1.Agents/Drain', client: 'allowed', agent: Code.PermissionDenied, master: 'allowed' },
    { path: '/drover.v1.Cluster/Info', client: 'allowed', agent: Code.PermissionDenied, master: 'allowed' },
    { path: '/drover.v1.Deployments/Cancel', client: 'allowed', agent: Code.PermissionDenied, master: 'allowed' },
    { path: '/drover.v1.Events/Watch', client: 'allowed', agent: Code.PermissionDenied, master: 'allowed' },
    { path: '/grpc.health.v1.Health/Check', client: 'allowed', agent: 'allowed', master: 'allowed' },
    { path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', client: 'allowed', agent: 'allowed', master: 'allowed' },
    { path: '/drover.v1.Secrets/Read', client: Code.PermissionDenied, agent: Code.PermissionDenied, master: Code.PermissionDenied },
    { path: 'garbage', client: Code.PermissionDenied, agent: Code.PermissionDenied, master: Code.PermissionDenied },
  ])('gRPC $path', ({ path, client, agent, master }) => {
    expect([outcome(cert('client'), grpcAccess(path)), outcome(cert('agent'), grpcAccess(path)), outcome(cert('master'), grpcAccess(path))]).toEqual([
      client,
      agent,
      master,
    ]);
  });

  it('lets clients and masters, not agents, use the HTTP API', () => {
    expect([outcome(cert('client'), HTTP_ACCESS), outcome(cert('master'), HTTP_ACCESS), outcome(cert('agent'), HTTP_ACCESS)]).toEqual([
      'allowed',
      'allowed',
      Code.PermissionDenied,
    ]);
  });
});
