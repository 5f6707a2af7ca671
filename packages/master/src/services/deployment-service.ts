/** Deployment queries and cancel, shared by every API surface. */
import { normalizeAppId, NotFoundError } from '@drover/common';
import type { Deployment } from '@drover/proto';
import type { ClusterState } from '../state/cluster-state.js';
import type { DeploymentRecord } from '../model/records.js';
import type { DeploymentManager } from '../deployments/deployment-manager.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import { deploymentToProto } from '../deployments/deployment-view.js';

/** Deployment list/get/cancel. */
export class DeploymentService {
  constructor(
    private readonly state: ClusterState,
    private readonly manager: DeploymentManager,
    private readonly orchestrator: Pick<Orchestrator, 'appChanged'>,
  ) {}

  /** Running deployments (and with includeEnded, recent ones), newest first. */
  list(filter: { appId?: string; includeEnded?: boolean } = {}): Deployment[] {
    const appId = filter.appId ? normalizeAppId(filter.appId) : undefined;
    return this.state
      .allDeployments()
      .filter((d) => (filter.includeEnded || d.state === 'RUNNING') && (!appId || d.appId === appId))
      .map((d) => this.view(d));
  }

  /** One deployment. */
  get(id: string): Deployment {
    const d = this.state.deployment(id);
    if (!d) throw new NotFoundError('deployment', id);
    return this.view(d);
  }

  /** Cancels (rolls back, or with force just stops). */
  async cancel(id: string, force: boolean): Promise<{ canceled: Deployment; rollback?: Deployment }> {
    const { canceled, rollback } = await this.manager.cancel(id, force);
    // A rollback restored the app's spec: hand it to the orchestrator.
    this.orchestrator.appChanged(canceled.appId);
    return rollback ? { canceled: this.view(canceled), rollback: this.view(rollback) } : { canceled: this.view(canceled) };
  }

  /** A record as clients see it, with its progress (live while it runs, as it ended after). */
  view(d: DeploymentRecord): Deployment {
    return deploymentToProto(d, this.manager.progress(d));
  }
}
