/**
 * The vocabulary of change: every write the master makes is a list of
 * mutations, applied to the in-memory state at once (state/cluster-state.ts)
 * and committed to the Store as one batch. One mutation puts or deletes one
 * record, so a store keeps one row (or key) per record and never a blob.
 */
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from './records.js';

/** One change to a record. */
export type Mutation =
  | { readonly kind: 'putApp'; readonly app: AppRecord }
  | { readonly kind: 'deleteApp'; readonly id: string }
  | { readonly kind: 'putTask'; readonly task: TaskRecord }
  | { readonly kind: 'deleteTask'; readonly id: string }
  | { readonly kind: 'putAgent'; readonly agent: AgentRecord }
  | { readonly kind: 'putVersion'; readonly version: VersionRecord }
  | { readonly kind: 'deleteVersion'; readonly appId: string; readonly version: string }
  | { readonly kind: 'putDeployment'; readonly deployment: DeploymentRecord }
  | { readonly kind: 'deleteDeployment'; readonly id: string };

/**
 * The record a mutation writes, as one string: two mutations with the same
 * key overwrite each other, so only the last of a batch needs committing.
 */
export function recordKeyOf(m: Mutation): string {
  switch (m.kind) {
    case 'putApp':
      return `app:${m.app.spec.id}`;
    case 'deleteApp':
      return `app:${m.id}`;
    case 'putTask':
      return `task:${m.task.id}`;
    case 'deleteTask':
      return `task:${m.id}`;
    case 'putAgent':
      return `agent:${m.agent.id}`;
    case 'putVersion':
      return `version:${m.version.appId}\u0000${m.version.version}`;
    case 'deleteVersion':
      return `version:${m.appId}\u0000${m.version}`;
    case 'putDeployment':
      return `deployment:${m.deployment.id}`;
    case 'deleteDeployment':
      return `deployment:${m.id}`;
  }
}
