export * from './spec-error.js';
export * from './validate-service-spec.js';
export * from './validate-node-spec.js';
export * from './validate-cluster-spec.js';
export * from './validate-network-spec.js';
export * from './validate-secret-spec.js';
export * from './validate-config-spec.js';
