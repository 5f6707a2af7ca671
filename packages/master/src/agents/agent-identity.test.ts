import { Code, DroverError } from '@drover/common';
import type { Register } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../auth/caller.js';
import type { AgentRecord } from '../model/records.js';
import { FakeAgent } from '../testing/fake-agent.js';
import { hashAgentSecret, newAgentSecret, secretMatches, type SecretAction, verifyAgentIdentity } from './agent-identity.js';

const SECRET = 'the-secret-of-node-1';

const node1: AgentRecord = {
  id: 'agent-1',
  hostname: 'node-1',
  address: '10.0.0.1',
  total: { cpus: 4, mem: 4096, disk: 0, gpus: 0 },
  ports: [],
  attributes: {},
  state: 'ACTIVE',
  version: 'test',
  registeredAt: 0,
  lastSeenAt: 0,
  secretHash: hashAgentSecret(SECRET),
};
const { secretHash: _, ...node1BeforeSecrets } = node1;

const plaintext: Caller = { kind: 'plaintext' };
const cert = (name: string, role: 'agent' | 'client' | 'master' = 'agent'): Caller => ({ kind: 'certificate', name, role });
const reg = (overrides: Partial<Register>): Register => FakeAgent.registration({ hostname: 'node-1', ...overrides });

describe('verifyAgentIdentity', () => {
  it.each<{ name: string; reg: Register; previous?: AgentRecord; caller: Caller; expected: SecretAction | Code }>([
    // Plaintext: the secret proves a known id.
    { name: 'plaintext, a new agent', reg: reg({}), caller: plaintext, expected: 'issue' },
    { name: 'plaintext, an id the master lost, with an old secret', reg: reg({ agentId: 'gone', agentSecret: 'old' }), caller: plaintext, expected: 'issue' },
    { name: 'plaintext, a known id with its secret', reg: reg({ agentId: 'agent-1', agentSecret: SECRET }), previous: node1, caller: plaintext, expected: 'keep' },
    { name: 'plaintext, a known id with its secret from another host name', reg: reg({ agentId: 'agent-1', agentSecret: SECRET, hostname: 'renamed' }), previous: node1, caller: plaintext, expected: 'keep' },
    { name: 'plaintext, a known id without a secret', reg: reg({ agentId: 'agent-1' }), previous: node1, caller: plaintext, expected: Code.Unauthenticated },
    { name: 'plaintext, a known id with a wrong secret', reg: reg({ agentId: 'agent-1', agentSecret: 'guess' }), previous: node1, caller: plaintext, expected: Code.Unauthenticated },
    { name: 'plaintext, a known id with the secret hash as secret', reg: reg({ agentId: 'agent-1', agentSecret: node1.secretHash }), previous: node1, caller: plaintext, expected: Code.Unauthenticated },
    { name: 'plaintext, an agent from before secrets (trusted once)', reg: reg({ agentId: 'agent-1' }), previous: node1BeforeSecrets, caller: plaintext, expected: 'issue' },
    // Mutual TLS: the certificate names the agent.
    { name: 'mTLS, a new agent with its own name', reg: reg({}), caller: cert('node-1'), expected: 'issue' },
    { name: 'mTLS, a new agent under another name', reg: reg({ hostname: 'node-2' }), caller: cert('node-1'), expected: Code.PermissionDenied },
    { name: 'mTLS, a known id, its certificate, its secret', reg: reg({ agentId: 'agent-1', agentSecret: SECRET }), previous: node1, caller: cert('node-1'), expected: 'keep' },
    { name: 'mTLS, a known id, its certificate, secret lost', reg: reg({ agentId: 'agent-1' }), previous: node1, caller: cert('node-1'), expected: 'issue' },
    { name: "mTLS, node-2's certificate claiming node-1's id", reg: reg({ agentId: 'agent-1', hostname: 'node-2' }), previous: node1, caller: cert('node-2'), expected: Code.PermissionDenied },
    { name: "mTLS, node-2's certificate claiming node-1's id with node-1's secret", reg: reg({ agentId: 'agent-1', agentSecret: SECRET, hostname: 'node-2' }), previous: node1, caller: cert('node-2'), expected: Code.PermissionDenied },
    { name: "mTLS, node-2's certificate claiming node-1's id and host name", reg: reg({ agentId: 'agent-1', hostname: 'node-1' }), previous: node1, caller: cert('node-2'), expected: Code.PermissionDenied },
    { name: 'mTLS, a client certificate', reg: reg({}), caller: cert('node-1', 'client'), expected: Code.PermissionDenied },
    { name: 'mTLS, a certificate without a role', reg: reg({}), caller: { kind: 'certificate', name: 'node-1', role: undefined }, expected: Code.PermissionDenied },
    { name: 'TLS without a certificate', reg: reg({}), caller: { kind: 'anonymous' }, expected: Code.Unauthenticated },
  ])('$name', ({ reg: register, previous, caller, expected }) => {
    if (typeof expected === 'string') {
      expect(verifyAgentIdentity(register, previous, caller)).toBe(expected);
      return;
    }
    let thrown: unknown;
    try {
      verifyAgentIdentity(register, previous, caller);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DroverError);
    expect((thrown as DroverError).code).toBe(expected);
  });
});

describe('agent secrets', () => {
  it('are random, and only their own hash matches them', () => {
    const a = newAgentSecret();
    const b = newAgentSecret();
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(secretMatches(a, hashAgentSecret(a))).toBe(true);
    expect(secretMatches(b, hashAgentSecret(a))).toBe(false);
    expect(secretMatches('', hashAgentSecret(a))).toBe(false);
    expect(secretMatches(a, 'not-hex')).toBe(false);
  });
});
