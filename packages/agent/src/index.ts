// @drover/agent: the Drover agent (resource probe, executors, sandboxes,
// checkpoint/recovery, the master session).
export { startAgent } from './agent.js';
export type { AgentOptions, ResourceOverrides, RunningAgent } from './agent-options.js';
