import type { SecretSpec } from '../secret.js';
import { OBJECT_NAME_PATTERN, SpecErrors, type SpecError } from './spec-error.js';

/** Swarmkit's limits: secrets and configs travel in raft entries and assignments. */
export const MAX_SECRET_BYTES = 500 * 1024;
export const MAX_CONFIG_BYTES = 1000 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function validateData(e: SpecErrors, data: string | undefined, max: number): void {
  if (data === undefined) return;
  if (typeof data !== 'string' || data.length % 4 !== 0 || !BASE64.test(data)) {
    e.add('Data', 'must be base64');
    return;
  }
  const bytes = (data.length / 4) * 3 - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
  if (bytes > max) e.add('Data', `${bytes} bytes exceeds the limit of ${max}`);
}

export function validateSecretSpec(spec: SecretSpec): SpecError[] {
  const e = new SpecErrors();
  if (!spec.Name) e.add('Name', 'a secret needs a name');
  else if (spec.Name.length > 64 || !OBJECT_NAME_PATTERN.test(spec.Name)) {
    e.add('Name', `invalid secret name ${JSON.stringify(spec.Name)}`);
  }
  e.labels('Labels', spec.Labels);
  if (spec.Data === undefined && spec.Driver === undefined) e.add('Data', 'a secret needs data');
  validateData(e, spec.Data, MAX_SECRET_BYTES);
  return e.list;
}
