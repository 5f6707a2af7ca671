/**
 * What the API surfaces (gRPC client services, Marathon REST, metrics) are
 * served from: the shared services and the state they read. The master's
 * core provides it; the API layer names only what it uses, so it depends
 * on the layers below it and never on the composition above.
 */
import type { EventBus } from '../events/event-bus.js';
import type { AgentAdmin } from '../services/agent-admin.js';
import type { AppService } from '../services/app-service.js';
import type { DeploymentService } from '../services/deployment-service.js';
import type { TaskService } from '../services/task-service.js';
import type { ClusterState } from '../state/cluster-state.js';

/** The services every API surface shares. */
export interface ApiServices {
  readonly state: ClusterState;
  readonly apps: AppService;
  readonly tasks: TaskService;
  readonly agents: AgentAdmin;
  readonly deployments: DeploymentService;
  readonly events: EventBus;
}
