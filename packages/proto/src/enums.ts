// Hand-written code speaks in short string names ('RUNNING'), not in the
// generated numeric enums (TaskState.TASK_STATE_RUNNING): these codecs convert
// at the edge. The name types are derived from the generated enums, so adding
// an enum value to the .proto adds it here with no hand edits.
import { AgentState, agentStateFromJSON, agentStateToJSON } from './gen/drover/v1/agent.js';
import {
  DeploymentKind,
  deploymentKindFromJSON,
  deploymentKindToJSON,
  DeploymentState,
  deploymentStateFromJSON,
  deploymentStateToJSON,
} from './gen/drover/v1/deployment.js';
import {
  HealthCheckProtocol,
  healthCheckProtocolFromJSON,
  healthCheckProtocolToJSON,
  ConstraintOperator,
  constraintOperatorFromJSON,
  constraintOperatorToJSON,
  KillSelection,
  killSelectionFromJSON,
  killSelectionToJSON,
  PlacementStrategy,
  placementStrategyFromJSON,
  placementStrategyToJSON,
} from './gen/drover/v1/app.js';
import {
  HealthState,
  healthStateFromJSON,
  healthStateToJSON,
  TaskReason,
  taskReasonFromJSON,
  taskReasonToJSON,
  TaskState,
  taskStateFromJSON,
  taskStateToJSON,
} from './gen/drover/v1/task.js';

type Stripped<K, P extends string> = K extends `${P}${infer Rest}` ? Exclude<Rest, 'UNSPECIFIED'> : never;

/** A task state without its proto prefix, e.g. 'RUNNING'. */
export type TaskStateName = Stripped<keyof typeof TaskState, 'TASK_STATE_'>;
/** A task reason without its proto prefix, e.g. 'COMMAND_EXITED'. */
export type TaskReasonName = Stripped<keyof typeof TaskReason, 'TASK_REASON_'>;
/** An agent state without its proto prefix, e.g. 'ACTIVE'. */
export type AgentStateName = Stripped<keyof typeof AgentState, 'AGENT_STATE_'>;
/** A constraint operator as Marathon spells it, e.g. 'GROUP_BY'. */
export type ConstraintOperatorName = Stripped<keyof typeof ConstraintOperator, 'CONSTRAINT_OPERATOR_'>;
/** A health state without its proto prefix, e.g. 'HEALTHY'. */
export type HealthStateName = Stripped<keyof typeof HealthState, 'HEALTH_STATE_'>;
/** A deployment kind without its proto prefix, e.g. 'RESTART'. */
export type DeploymentKindName = Stripped<keyof typeof DeploymentKind, 'DEPLOYMENT_KIND_'>;
/** A deployment state without its proto prefix, e.g. 'RUNNING'. */
export type DeploymentStateName = Stripped<keyof typeof DeploymentState, 'DEPLOYMENT_STATE_'>;
/** A health check protocol without its proto prefix, e.g. 'HTTPS'. */
export type HealthCheckProtocolName = Stripped<keyof typeof HealthCheckProtocol, 'HEALTH_CHECK_PROTOCOL_'>;
/** A kill selection without its proto prefix, e.g. 'OLDEST_FIRST'. */
export type KillSelectionName = Stripped<keyof typeof KillSelection, 'KILL_SELECTION_'>;
/** A placement strategy without its proto prefix, e.g. 'SPREAD'. */
export type PlacementStrategyName = Stripped<keyof typeof PlacementStrategy, 'PLACEMENT_STRATEGY_'>;

/** Converts one proto enum to and from its short names. */
export interface EnumCodec<E extends number, N extends string> {
  /** Short name of a value; undefined for UNSPECIFIED or an unknown number. */
  name(value: E): N | undefined;
  /** Proto value of a short name. */
  value(name: N): E;
}

function enumCodec<E extends number, N extends string>(
  prefix: string,
  toJSON: (value: E) => string,
  fromJSON: (json: unknown) => E,
): EnumCodec<E, N> {
  return {
    name(value) {
      const json = toJSON(value);
      if (!json.startsWith(prefix) || json === `${prefix}UNSPECIFIED`) return undefined;
      return json.slice(prefix.length) as N;
    },
    value(name) {
      return fromJSON(`${prefix}${name}`);
    },
  };
}

/** TaskState <-> 'STAGING' | 'RUNNING' | ... */
export const taskStateCodec = enumCodec<TaskState, TaskStateName>('TASK_STATE_', taskStateToJSON, taskStateFromJSON);
/** TaskReason <-> 'COMMAND_EXITED' | ... */
export const taskReasonCodec = enumCodec<TaskReason, TaskReasonName>(
  'TASK_REASON_',
  taskReasonToJSON,
  taskReasonFromJSON,
);
/** AgentState <-> 'ACTIVE' | 'DISCONNECTED' | 'LOST' */
export const agentStateCodec = enumCodec<AgentState, AgentStateName>(
  'AGENT_STATE_',
  agentStateToJSON,
  agentStateFromJSON,
);
/** ConstraintOperator <-> 'UNIQUE' | 'CLUSTER' | ... */
export const constraintOperatorCodec = enumCodec<ConstraintOperator, ConstraintOperatorName>(
  'CONSTRAINT_OPERATOR_',
  constraintOperatorToJSON,
  constraintOperatorFromJSON,
);
/** PlacementStrategy <-> 'BINPACK' | 'SPREAD' */
export const placementStrategyCodec = enumCodec<PlacementStrategy, PlacementStrategyName>(
  'PLACEMENT_STRATEGY_',
  placementStrategyToJSON,
  placementStrategyFromJSON,
);
/** KillSelection <-> 'YOUNGEST_FIRST' | 'OLDEST_FIRST' (UNSPECIFIED: youngest first) */
export const killSelectionCodec = enumCodec<KillSelection, KillSelectionName>('KILL_SELECTION_', killSelectionToJSON, killSelectionFromJSON);
/** HealthState <-> 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' (UNSPECIFIED: no checks) */
export const healthStateCodec = enumCodec<HealthState, HealthStateName>('HEALTH_STATE_', healthStateToJSON, healthStateFromJSON);
/** DeploymentKind <-> 'CREATE' | 'UPDATE' | ... */
export const deploymentKindCodec = enumCodec<DeploymentKind, DeploymentKindName>(
  'DEPLOYMENT_KIND_',
  deploymentKindToJSON,
  deploymentKindFromJSON,
);
/** DeploymentState <-> 'RUNNING' | 'SUCCEEDED' | ... */
export const deploymentStateCodec = enumCodec<DeploymentState, DeploymentStateName>(
  'DEPLOYMENT_STATE_',
  deploymentStateToJSON,
  deploymentStateFromJSON,
);
/** HealthCheckProtocol <-> 'HTTP' | 'HTTPS' | 'TCP' | 'COMMAND' */
export const healthCheckProtocolCodec = enumCodec<HealthCheckProtocol, HealthCheckProtocolName>(
  'HEALTH_CHECK_PROTOCOL_',
  healthCheckProtocolToJSON,
  healthCheckProtocolFromJSON,
);
