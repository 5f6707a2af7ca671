import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { type Caller, callerOf } from './caller.js';

// The subject as Node reports it for a verified peer (a repeated field becomes an array).
const peer = (subject: Record<string, string | string[]>) => ({ subject }) as unknown as PeerCertificate;

describe('callerOf', () => {
  it.each<{ name: string; secure: boolean; certificate?: PeerCertificate; expected: Caller }>([
    { name: 'a plaintext port', secure: false, certificate: peer({ O: 'drover', OU: 'client', CN: 'x' }), expected: { kind: 'plaintext' } },
    { name: 'TLS without a verified certificate', secure: true, expected: { kind: 'anonymous' } },
    { name: 'TLS with an empty certificate', secure: true, certificate: {} as PeerCertificate, expected: { kind: 'anonymous' } },
    { name: 'a client', secure: true, certificate: peer({ O: 'drover', OU: 'client', CN: 'ops' }), expected: { kind: 'certificate', name: 'ops', role: 'client' } },
    { name: 'an agent', secure: true, certificate: peer({ O: 'drover', OU: 'agent', CN: 'node-1' }), expected: { kind: 'certificate', name: 'node-1', role: 'agent' } },
    { name: 'a master', secure: true, certificate: peer({ O: 'drover', OU: 'master', CN: 'drover-master' }), expected: { kind: 'certificate', name: 'drover-master', role: 'master' } },
    { name: 'a certificate from before roles', secure: true, certificate: peer({ CN: 'drover-client' }), expected: { kind: 'certificate', name: 'drover-client', role: undefined } },
    { name: 'an unknown role', secure: true, certificate: peer({ O: 'drover', OU: 'root', CN: 'x' }), expected: { kind: 'certificate', name: 'x', role: undefined } },
    { name: 'a role outside O=drover', secure: true, certificate: peer({ O: 'acme', OU: 'client', CN: 'x' }), expected: { kind: 'certificate', name: 'x', role: undefined } },
    { name: 'two roles', secure: true, certificate: peer({ O: 'drover', OU: ['agent', 'client'], CN: 'x' }), expected: { kind: 'certificate', name: 'x', role: undefined } },
    { name: 'two organizations', secure: true, certificate: peer({ O: ['drover', 'acme'], OU: 'client', CN: 'x' }), expected: { kind: 'certificate', name: 'x', role: undefined } },
    { name: 'two names', secure: true, certificate: peer({ O: 'drover', OU: 'agent', CN: ['node-1', 'node-2'] }), expected: { kind: 'certificate', name: '', role: 'agent' } },
  ])('$name', ({ secure, certificate, expected }) => {
    expect(callerOf(secure, certificate)).toEqual(expected);
  });
});
