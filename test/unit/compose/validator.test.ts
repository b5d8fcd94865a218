import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import generated from '../../../src/compose/schema/compose-spec-validator.json' with { type: 'json' };
import { generateValidator, schemaDigest } from '../../../src/compose/schema/validator-source.js';
import { corpusDir } from './corpus.js';

describe('precompiled compose-spec validator', () => {
  it('was generated from the vendored schema (run src/compose/schema/generate-validator.ts)', () => {
    const schema = readFileSync(
      new URL('../../../src/compose/schema/compose-spec.json', import.meta.url),
      'utf8',
    );
    expect(generated.schemaSha256).toBe(schemaDigest(schema));
    expect(generated.code).toBe(generateValidator().code);
  });

  it('holds the same schema as the corpus copy it was vendored from', () => {
    const corpusSchema = resolve(corpusDir, 'schema', 'compose-spec.json');
    if (!existsSync(corpusSchema)) return;
    const ours = readFileSync(
      new URL('../../../src/compose/schema/compose-spec.json', import.meta.url),
      'utf8',
    );
    expect(schemaDigest(ours)).toBe(schemaDigest(readFileSync(corpusSchema, 'utf8')));
  });
});
