/**
 * Deployments in Marathon's JSON shapes: the GET /v2/deployments entry
 * (DeploymentStepInfo) and the plan carried by deployment events
 * (DeploymentPlan). Steps are Marathon 1.x's `{actions: [{action, app}]}`.
 */
import type { AppSpec, Deployment } from '@drover/proto';
import { appDefinitionJson, type Json } from './app-json.js';

/** One Marathon step per Drover step (each acts on one app). */
function stepsJson(d: Deployment): Json[] {
  return d.steps.map((s) => ({ actions: [{ action: s.action, app: s.appId }] }));
}

/** The step being carried out, as Marathon's events carry it. */
export function currentStepJson(d: Deployment): Json {
  return stepsJson(d)[Math.max(0, d.currentStep - 1)] ?? { actions: [] };
}

/** A GET /v2/deployments entry. */
export function deploymentJson(d: Deployment): Json {
  const current = d.steps[Math.max(0, d.currentStep - 1)];
  return {
    id: d.id,
    version: d.version,
    affectedApps: [d.appId],
    affectedPods: [],
    steps: stepsJson(d),
    currentActions: current ? [{ action: current.action, app: current.appId, readinessCheckResults: [] }] : [],
    currentStep: d.currentStep,
    totalSteps: d.steps.length,
  };
}

/** Looks up one stored version of an app's spec. */
export type SpecLookup = (appId: string, version: string) => AppSpec | undefined;

/**
 * Marathon's DeploymentPlan: the root group before (`original`) and after
 * (`target`), holding the one app the deployment changes.
 */
export function planJson(d: Deployment, specOf: SpecLookup): Json {
  const group = (version: string): Json => {
    const spec = version === '' ? undefined : specOf(d.appId, version);
    return { id: '/', apps: spec ? [appDefinitionJson(spec, version)] : [], groups: [], pods: [], dependencies: [], version: version === '' ? null : version };
  };
  return { id: d.id, version: d.version, original: group(d.fromVersion), target: group(d.version), steps: stepsJson(d) };
}
