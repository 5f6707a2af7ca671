import { loadJsonFile, writeJsonAtomic } from './atomic-file.js';

interface AgentIdFile {
  agentId: string;
}

function isAgentIdFile(value: unknown): value is AgentIdFile {
  return typeof (value as AgentIdFile).agentId === 'string';
}

/** The agent id kept in `file`, or undefined before the first registration. */
export async function loadAgentId(file: string): Promise<string | undefined> {
  const content = await loadJsonFile(file, isAgentIdFile);
  return content === undefined || content.agentId === '' ? undefined : content.agentId;
}

/** Keeps the agent id durably (write-then-rename). */
export async function saveAgentId(file: string, agentId: string): Promise<void> {
  await writeJsonAtomic(file, { agentId } satisfies AgentIdFile);
}
