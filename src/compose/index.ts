export { loadCompose, nodeComposeHost } from './load.js';
export type { ComposeConfig, ComposeHost, LoadComposeOptions, LoadComposeResult } from './load.js';
export { renderStackConfig } from './render.js';
export { formatDiagnostic } from './diagnostic.js';
export type { Diagnostic } from './diagnostic.js';
export { interpolateString } from './interpolate.js';
// The parsers live in src/api, shared with the CLI and the runtime; compose still offers them.
export { parseDurationNs, formatGoDuration, parseBytes, canonicalJson } from '../api/index.js';
export { convertStack } from './convert.js';
export type { ConvertResult, Stack } from './convert.js';
export { stackNamespaceLabel } from './converter.js';
export type { DependsOnCondition, DependsOnEdge } from './convert-depends-on.js';
export type { StackNetwork } from './convert-networks.js';
export type { StackFileObject, StackObjectSource } from './convert-secrets-configs.js';
export type { StackVolume } from './convert-volumes.js';
export { planStackDeploy, dependencyOrder, stackImageLabel } from './deploy-plan.js';
export type { DeployAction, DeployPlanInput, DependencyWait } from './deploy-plan.js';
