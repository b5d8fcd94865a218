// Builds what bin/tsswarm runs: one ESM bundle of the CLI (fast start-up: no module
// resolution across hundreds of files) and the native helpers under build/.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  entryNames: 'tsswarm',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  outdir: join(root, 'dist'),
  bundle: true,
  // Each command group is a dynamic import, hence a chunk loaded only when that verb runs.
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Packages that load files relative to themselves at run time stay outside the bundle.
  external: ['pino', 'thread-stream', 'fastify', 'nats'],
  banner: {
    js: "import { createRequire as __tsswarmCreateRequire } from 'node:module'; const require = __tsswarmCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// Native helpers: every src/**/native/<name>.c becomes build/<name>.
mkdirSync(join(root, 'build'), { recursive: true });
for (const dir of ['src/runtime/native']) {
  const abs = join(root, dir);
  if (!existsSync(abs)) continue;
  for (const file of readdirSync(abs)) {
    if (!file.endsWith('.c')) continue;
    const out = join(root, 'build', file.slice(0, -2));
    execFileSync(
      'cc',
      ['-O2', '-Wall', '-Wextra', '-Werror', '-static', '-o', out, join(abs, file)],
      {
        stdio: 'inherit',
      },
    );
  }
}
