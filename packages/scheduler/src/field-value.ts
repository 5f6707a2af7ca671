/**
 * The value a constraint field has on an agent: `hostname` is the agent's
 * hostname (even if an attribute is also called "hostname", as in
 * Marathon); any other field is the agent attribute of that name.
 */
import type { AgentIdentity } from './types.js';

/** The field's value on the agent, or undefined when the agent lacks the attribute. */
export function fieldValue(agent: AgentIdentity, field: string): string | undefined {
  if (field === 'hostname') return agent.hostname;
  // typeof, not `in`: a field such as "constructor" must not find Object.prototype.
  const value = agent.attributes[field];
  return typeof value === 'string' ? value : undefined;
}
