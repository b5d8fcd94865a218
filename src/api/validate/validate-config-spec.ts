import type { ConfigSpec } from '../config.js';
import { OBJECT_NAME_PATTERN, SpecErrors, type SpecError } from './spec-error.js';
import { MAX_CONFIG_BYTES, validateData } from './validate-secret-spec.js';

export function validateConfigSpec(spec: ConfigSpec): SpecError[] {
  const e = new SpecErrors();
  if (!spec.Name) e.add('Name', 'a config needs a name');
  else if (spec.Name.length > 64 || !OBJECT_NAME_PATTERN.test(spec.Name)) {
    e.add('Name', `invalid config name ${JSON.stringify(spec.Name)}`);
  }
  e.labels('Labels', spec.Labels);
  if (spec.Data === undefined) e.add('Data', 'a config needs data');
  validateData(e, spec.Data, MAX_CONFIG_BYTES);
  return e.list;
}
