import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const main = join(repoRoot, 'src', 'cli', 'main.ts');

async function stackConfig(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(tsx, [main, 'stack', 'config', ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: '/home/u', TAG: '7' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('tsswarm stack config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsswarm-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'a.yml'),
    'services:\n  web:\n    image: "nginx:${TAG}"\n    build: .\n    ports: ["80"]\n',
  );
  writeFileSync(join(dir, 'b.yml'), 'services:\n  web:\n    deploy:\n      replicas: three\n');

  it('prints the merged, interpolated, normalised file and warnings on stderr', async () => {
    const r = await stackConfig(['-c', join(dir, 'a.yml')]);
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toEqual({
      version: '3.13',
      services: {
        web: {
          build: '.',
          image: 'nginx:7',
          ports: [{ mode: 'ingress', target: 80, protocol: 'tcp' }],
        },
      },
    });
    expect(r.stderr).toContain('ignoring options a swarm service cannot honour: build');
  });

  it('keeps variables with --skip-interpolation', async () => {
    const r = await stackConfig(['-c', join(dir, 'a.yml'), '--skip-interpolation']);
    expect(r.stdout).toContain('image: nginx:${TAG}');
  });

  it('exits 125 with file, line, column and key path on error', async () => {
    const r = await stackConfig(['-c', join(dir, 'a.yml'), '-c', join(dir, 'b.yml')]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(
      `Error: ${join(dir, 'b.yml')}:4:17 services.web.deploy.replicas: must be an integer, got "three"\n`,
    );
    expect(r.stdout).toBe('');
  });
});

describe('tsswarm stack config -c -', () => {
  it('reads the compose file from stdin', async () => {
    const child = execFile(tsx, [main, 'stack', 'config', '-c', '-'], {
      env: { PATH: process.env['PATH'] ?? '' },
    });
    child.stdin?.end('services:\n  web:\n    image: busybox\n');
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(code).toBe(0);
    expect(parse(out)).toEqual({ version: '3.13', services: { web: { image: 'busybox' } } });
  });
});
