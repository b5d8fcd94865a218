export { loadCompose, nodeComposeHost } from './load.js';
export type { ComposeConfig, ComposeHost, LoadComposeOptions, LoadComposeResult } from './load.js';
export { renderStackConfig } from './render.js';
export { formatDiagnostic } from './diagnostic.js';
export type { Diagnostic } from './diagnostic.js';
export { interpolateString } from './interpolate.js';
export { parseDurationNs, formatGoDuration, parseBytes } from './units.js';
export { convertStack, stackNamespaceLabel } from './convert.js';
export type {
  ConvertResult,
  DependsOnCondition,
  DependsOnEdge,
  Stack,
  StackFileObject,
  StackNetwork,
  StackObjectSource,
  StackVolume,
} from './convert.js';
export { planStackDeploy, dependencyOrder, canonicalJson, stackImageLabel } from './deploy-plan.js';
export type { DeployAction, DeployPlanInput, DependencyWait } from './deploy-plan.js';
