// @drover/proto: the generated contract (src/gen, never edited by hand) and
// the helpers that keep raw proto enums out of hand-written code.
export * from './gen/drover/v1/resources.js';
export * from './gen/drover/v1/task.js';
export * from './gen/drover/v1/app.js';
export * from './gen/drover/v1/agent.js';
export * from './gen/drover/v1/agent_service.js';
export * from './gen/drover/v1/apps_service.js';
export * from './gen/drover/v1/tasks_service.js';
export * from './gen/drover/v1/agents_service.js';
export * from './gen/drover/v1/cluster_service.js';
export * from './gen/drover/v1/deployment.js';
export * from './gen/drover/v1/events_service.js';
export { Status as RpcStatus } from './gen/google/rpc/status.js';
export { BadRequest, BadRequest_FieldViolation } from './gen/google/rpc/error_details.js';
export { Any } from './gen/google/protobuf/any.js';
export { descriptorSetBase64 } from './gen/descriptor-set.js';
export * from './enums.js';
