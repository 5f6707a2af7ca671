/**
 * The agent's identity, kept in one file so the id and the secret that
 * proves it can never get separated: written atomically (write, fsync,
 * rename) with mode 0600, since whoever reads the secret can register as
 * this agent over plaintext. Work dirs from before secrets existed hold
 * only the id; the master issues a secret at the next registration.
 */
import { loadJsonFile, writeJsonAtomic } from './atomic-file.js';

/** Who the master knows this agent as. */
export interface AgentIdentity {
  /** The id from the first Registered. */
  readonly agentId: string;
  /** The secret from Registered that proves the id over plaintext; absent until the master issued one. */
  readonly secret?: string;
}

function isAgentIdentity(value: unknown): value is AgentIdentity {
  const v = value as AgentIdentity;
  return typeof v.agentId === 'string' && (v.secret === undefined || typeof v.secret === 'string');
}

/** The identity kept in `file`, or undefined before the first registration. */
export async function loadAgentIdentity(file: string): Promise<AgentIdentity | undefined> {
  const content = await loadJsonFile(file, isAgentIdentity);
  if (content === undefined || content.agentId === '') return undefined;
  return content.secret === undefined || content.secret === '' ? { agentId: content.agentId } : { agentId: content.agentId, secret: content.secret };
}

/** Keeps the identity durably, readable by the agent's user only. */
export async function saveAgentIdentity(file: string, identity: AgentIdentity): Promise<void> {
  await writeJsonAtomic(file, identity);
}
