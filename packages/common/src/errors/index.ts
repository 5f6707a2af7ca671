export * from './code.js';
export * from './drover-error.js';
export * from './validation-error.js';
export * from './grpc-status.js';
export * from './unreachable-error.js';
export * from './address-in-use-error.js';
export * from './not-leader-error.js';
