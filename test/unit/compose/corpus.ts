import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The shared compose corpus sits beside the clone (../shared/compose-corpus). */
export const corpusDir = resolve(repoRoot, '..', 'shared', 'compose-corpus');
export const corpusPresent = existsSync(resolve(corpusDir, 'cases.tsv'));

export interface CorpusCase {
  id: string;
  env: Record<string, string>;
  files: string[];
  /** Exit code of `docker stack config` for this case. */
  dockerRc: number;
  dockerFirstLine: string;
  /** Regex every docker run matched, for cases whose docker error varies run to run. */
  nondeterministic: RegExp | undefined;
}

function tsvRows(name: string): string[][] {
  return readFileSync(resolve(corpusDir, name), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

export function corpusCases(): CorpusCase[] {
  const summary = new Map(
    tsvRows('ORACLE-SUMMARY.tsv')
      .slice(1)
      .map((r) => [r[0], r]),
  );
  const nondet = new Map(tsvRows('NONDETERMINISTIC.tsv').map((r) => [r[0], r[1]]));
  return tsvRows('cases.tsv').map(([id = '', envText = '-', filesText = '']) => {
    const env: Record<string, string> = { PATH: '/usr/bin:/bin', HOME: '/home/user' };
    if (envText !== '-') {
      for (const kv of envText.split(' ')) {
        const eq = kv.indexOf('=');
        env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
    }
    const s = summary.get(id);
    const re = nondet.get(id);
    return {
      id,
      env,
      files: filesText.split(' ').map((f) => resolve(corpusDir, f)),
      dockerRc: Number(s?.[1] ?? NaN),
      dockerFirstLine: s?.[3] ?? '',
      nondeterministic: re === undefined ? undefined : new RegExp(re),
    };
  });
}

/** The oracle's `stack config` output with `${CORPUS}` replaced by the corpus path. */
export function oracleOutput(c: CorpusCase): string {
  return readFileSync(resolve(corpusDir, `${c.id}.stack-config.out`), 'utf8').replaceAll(
    '${CORPUS}',
    corpusDir,
  );
}
