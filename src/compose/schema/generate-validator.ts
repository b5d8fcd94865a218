// Regenerates compose-spec-validator.json from compose-spec.json:
//   node_modules/.bin/tsx src/compose/schema/generate-validator.ts
// Compiling the schema at run time costs ~350 ms, more than the whole `stack config` budget, so
// the validator ships as ajv standalone code (kept as a JSON string: formatted as JavaScript it
// grows tenfold with indentation); test/unit/compose checks it matches the schema.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateValidator } from './validator-source.js';

const out = join(dirname(fileURLToPath(import.meta.url)), 'compose-spec-validator.json');
writeFileSync(out, `${JSON.stringify(generateValidator(), null, 2)}\n`);
