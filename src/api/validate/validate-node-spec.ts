import type { NodeSpec } from '../node.js';
import { SpecErrors, type SpecError } from './spec-error.js';

export function validateNodeSpec(spec: NodeSpec): SpecError[] {
  const e = new SpecErrors();
  e.oneOf('Role', spec.Role, ['worker', 'manager']);
  e.oneOf('Availability', spec.Availability, ['active', 'pause', 'drain']);
  e.labels('Labels', spec.Labels);
  if (spec.Name !== undefined && typeof spec.Name !== 'string') e.add('Name', 'must be a string');
  return e.list;
}
