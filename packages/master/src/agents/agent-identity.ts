/**
 * Proving that a Register comes from the agent it names, before anything
 * about that agent changes. Without the proof, anyone who could reach the
 * master could register under an existing agent's id with an empty task
 * list: the master would mark that agent's tasks LOST, send their
 * replacements (the apps' environment, secrets included) to the impostor,
 * and kill the real agent's tasks as orphans when it came back.
 *
 *   mutual TLS  the agent's certificate proves it. Its CN is the agent's
 *               name (scripts/gen-certs --agent NAME): the agent must
 *               register with that hostname, and an agent id already known
 *               only takes a certificate for the hostname it registered
 *               with, so node-1's certificate cannot register as node-2.
 *   plaintext   a secret proves it. The master issues one at the agent's
 *               first registration (Registered.agent_secret) and stores only
 *               its SHA-256; the agent keeps it beside its id in its work dir
 *               and sends it in every later Register. A known id with a
 *               wrong or missing secret is refused.
 *
 * A secret is issued whenever the agent proved itself some other way and
 * does not hold the current one: at its first registration, under mutual
 * TLS when it lost its secret (so a later switch to plaintext finds it
 * keyed), and once for an agent registered before secrets existed. That
 * last case is trust on first use: after the upgrade, the first plaintext
 * Register for such an id is believed. Agents reconnect within seconds of a
 * master restart, and a second session for a connected agent is refused, so
 * the window is small; under mutual TLS it does not exist (the certificate
 * is checked as always).
 *
 * The secret is 256 random bits, so a plain SHA-256 is enough to store it:
 * there is nothing to guess, and a stolen hash does not give the secret.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Code, DroverError } from '@drover/common';
import type { Register } from '@drover/proto';
import type { Caller } from '../auth/caller.js';
import type { AgentRecord } from '../model/records.js';

/** What a proven registration does about the agent's secret. */
export type SecretAction = 'keep' | 'issue';

/**
 * Throws (UNAUTHENTICATED, PERMISSION_DENIED) unless `reg` proves it comes
 * from the agent it names; `previous` is that agent's record, if known.
 */
export function verifyAgentIdentity(reg: Register, previous: AgentRecord | undefined, caller: Caller): SecretAction {
  const holds = previous?.secretHash !== undefined && reg.agentSecret !== '' && secretMatches(reg.agentSecret, previous.secretHash);
  switch (caller.kind) {
    case 'anonymous':
      throw new DroverError('an agent must present its certificate', Code.Unauthenticated);
    case 'certificate':
      if (caller.role !== 'agent') {
        throw new DroverError(`certificate "${caller.name}" is not an agent certificate`, Code.PermissionDenied);
      }
      if (reg.hostname !== caller.name) {
        throw new DroverError(
          `the certificate of agent "${caller.name}" cannot register hostname "${reg.hostname}": ` +
            `start the agent with --hostname ${caller.name}, or give it a certificate for ${reg.hostname} (scripts/gen-certs DIR --agent ${reg.hostname})`,
          Code.PermissionDenied,
        );
      }
      if (previous !== undefined && previous.hostname !== caller.name) {
        throw new DroverError(
          `agent ${previous.id} is ${previous.hostname}: the certificate of agent "${caller.name}" cannot register as it`,
          Code.PermissionDenied,
        );
      }
      return holds ? 'keep' : 'issue';
    case 'plaintext':
      if (previous?.secretHash === undefined) return 'issue';
      if (reg.agentSecret === '') {
        throw new DroverError(
          `agent ${previous.id} (${previous.hostname}) is registered with a secret, and this Register carries none`,
          Code.Unauthenticated,
        );
      }
      if (!holds) throw new DroverError(`wrong secret for agent ${previous.id} (${previous.hostname})`, Code.Unauthenticated);
      return 'keep';
  }
}

/** A fresh agent secret: 256 random bits, URL-safe base64. */
export function newAgentSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the master stores of a secret: its SHA-256, hex. */
export function hashAgentSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** True when `secret` hashes to `hash` (compared in constant time). */
export function secretMatches(secret: string, hash: string): boolean {
  const given = Buffer.from(hashAgentSecret(secret), 'hex');
  const stored = Buffer.from(hash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
