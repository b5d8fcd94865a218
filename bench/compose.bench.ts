// Wall time of `bin/tsswarm stack config -c <largest corpus file>`, process start included
// (run `npm run build` first: the bench runs what users run). Anchor: `docker stack config`
// on the same file when the docker CLI is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = resolve(repoRoot, '..', 'shared', 'compose-corpus');
const runs = 10;
const targetMs = 300;

function composeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory())
      return e.name === 'schema' || e.name.startsWith('.') ? [] : composeFiles(p);
    return e.name.endsWith('.yml') ? [p] : [];
  });
}

function medianMs(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    execFileSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return Math.round((((samples[4] ?? 0) + (samples[5] ?? 0)) / 2) * 10) / 10;
}

const largest = composeFiles(corpus).sort((a, b) => statSync(b).size - statSync(a).size)[0];
if (largest === undefined) throw new Error(`no compose files under ${corpus}`);
// full-example reads $HOME and $QUX; the same values as the oracle keep the run warning-free.
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/home/foo', QUX: 'qux' };
const tsswarmMs = medianMs(
  join(repoRoot, 'bin', 'tsswarm'),
  ['stack', 'config', '-c', largest],
  env,
);

let dockerMs: number | undefined;
const docker = '/usr/local/bin/docker';
if (existsSync(docker)) {
  try {
    dockerMs = medianMs(docker, ['stack', 'config', '-c', largest], {
      ...env,
      DOCKER_HOST: 'unix:///nonexistent.sock',
    });
  } catch {
    dockerMs = undefined;
  }
}

console.log(
  JSON.stringify({
    bench: 'compose-stack-config',
    file: largest.slice(corpus.length + 1),
    bytes: statSync(largest).size,
    runs,
    medianMs: tsswarmMs,
    targetMs,
    withinTarget: tsswarmMs <= targetMs,
    ...(dockerMs === undefined
      ? {}
      : {
          dockerMedianMs: dockerMs,
          ratioToDocker: Math.round((tsswarmMs / dockerMs) * 100) / 100,
        }),
  }),
);
