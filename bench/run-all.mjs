// Runs every bench/*.bench.ts in turn; each prints one JSON line on stdout.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
for (const f of readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()) {
  if (only.length > 0 && !only.some((o) => f.includes(o))) continue;
  execFileSync(join(dir, '..', 'node_modules', '.bin', 'tsx'), [join(dir, f)], {
    stdio: 'inherit',
  });
}
