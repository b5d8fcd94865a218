import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

export const validatorOptions = {
  strict: false,
  allErrors: false,
  validateSchema: false,
  inlineRefs: false,
} as const;

/** What compose-spec-validator.json holds: ajv standalone CommonJS code and the schema it came from. */
export interface GeneratedValidator {
  schemaSha256: string;
  code: string;
}

/** Digest of the schema's content, independent of how the formatter lays the file out. */
export function schemaDigest(text: string): string {
  return createHash('sha256')
    .update(JSON.stringify(JSON.parse(text)))
    .digest('hex');
}

export function generateValidator(): GeneratedValidator {
  const here = dirname(fileURLToPath(import.meta.url));
  const text = readFileSync(join(here, 'compose-spec.json'), 'utf8');
  // The schema names draft-07 by an https URL that ajv does not know under that spelling.
  const { $schema: _declared, ...body } = JSON.parse(text) as Record<string, unknown>;
  const ajv = new Ajv({ ...validatorOptions, code: { source: true, esm: false } });
  const code = standaloneCode.default(ajv, ajv.compile(body));
  return { schemaSha256: schemaDigest(text), code };
}
