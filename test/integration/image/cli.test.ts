import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfsTar, dockerSaveTar, tarOf, writeTemp } from '../../helpers/images.js';

const repo = join(import.meta.dirname, '../../..');
const cli = join(repo, 'bin/tsswarm');
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('image CLI tests skipped: needs root (layers keep owners and devices)');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function tsswarm(dataRoot: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cli, ['--data-root', dataRoot, ...args], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!isRoot)('tsswarm image CLI', () => {
  let dataRoot: string;
  let scratch: string;
  let busyboxTar: string;

  beforeAll(async () => {
    if (!existsSync(join(repo, 'dist/tsswarm.mjs'))) {
      await new Promise((r, j) =>
        execFile('node', [join(repo, 'scripts/build.mjs')], (e) => (e ? j(e) : r(undefined))),
      );
    }
    dataRoot = await mkdtemp(join(tmpdir(), 'tsswarm-image-cli-'));
    scratch = await mkdtemp(join(tmpdir(), 'tsswarm-image-cli-files-'));
    busyboxTar = await writeTemp(await busyboxRootfsTar(), scratch);
  });
  afterAll(async () => {
    await rm(dataRoot, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  });

  it('imports a rootfs with --change and prints the id, as docker import does', async () => {
    const r = await tsswarm(dataRoot, [
      'image',
      'import',
      busyboxTar,
      '--name',
      'busybox',
      '--change',
      'CMD ["sh"]',
      '-c',
      'ENV A=1',
    ]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const inspect = await tsswarm(dataRoot, ['image', 'inspect', 'busybox']);
    const [doc] = JSON.parse(inspect.stdout) as {
      Id: string;
      RepoTags: string[];
      Config: object;
      RootFS: { Type: string; Layers: string[] };
    }[];
    expect(doc?.Id).toBe(r.stdout.trim());
    expect(doc?.RepoTags).toEqual(['busybox:latest']);
    expect(doc?.Config).toEqual({ Cmd: ['sh'], Env: ['A=1'] });
    expect(doc?.RootFS.Type).toBe('layers');
  });

  it('lists, tags, shows history and removes with docker output', async () => {
    expect((await tsswarm(dataRoot, ['image', 'tag', 'busybox', 'me/bb:1'])).code).toBe(0);
    const ls = await tsswarm(dataRoot, ['images']);
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{3,}/).slice(0, 2))).toEqual([
      ['busybox', 'latest'],
      ['me/bb', '1'],
    ]);
    const q = await tsswarm(dataRoot, ['image', 'ls', '-q', 'me/bb']);
    expect(q.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    const json = await tsswarm(dataRoot, ['image', 'ls', '--format', 'json']);
    for (const l of json.stdout.trimEnd().split('\n')) {
      expect(Object.keys(JSON.parse(l) as object)).toEqual(
        expect.arrayContaining(['ID', 'Repository', 'Tag', 'CreatedSince', 'Size']),
      );
    }
    const history = await tsswarm(dataRoot, ['image', 'history', 'me/bb:1']);
    expect(history.stdout).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/);
    expect(history.stdout).toContain('tsswarm image import');

    const byId = await tsswarm(dataRoot, ['rmi', q.stdout.trim()]);
    expect(byId.code).toBe(125);
    expect(byId.stderr).toMatch(/must be forced\) - image is referenced in multiple repositories/);
    expect((await tsswarm(dataRoot, ['rmi', 'me/bb:1'])).stdout).toBe('Untagged: me/bb:1\n');
  });

  it('saves and loads through a pipe, keeping the id', async () => {
    const out = join(scratch, 'bb.tar');
    expect((await tsswarm(dataRoot, ['image', 'save', '-o', out, 'busybox'])).code).toBe(0);
    const other = await mkdtemp(join(tmpdir(), 'tsswarm-image-cli-other-'));
    try {
      const load = await tsswarm(other, ['image', 'load', '-i', out]);
      expect(load.stdout).toBe('Loaded image: busybox:latest\n');
      const a = await tsswarm(dataRoot, ['images', '-q', '--no-trunc']);
      const b = await tsswarm(other, ['images', '-q', '--no-trunc']);
      expect(b.stdout).toBe(a.stdout);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('fails with exit 125 and a message that names the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['image', 'inspect', 'nope'], /^Error: No such image: nope\n$/],
      [['image', 'load', '-i', busyboxTar], /is not a docker save or OCI layout archive/],
      [['rmi', 'nope'], /^Error: No such image: nope\n$/],
      [['image', 'tag', 'busybox', 'Bad'], /invalid reference format "Bad": .*lowercase/],
      [
        ['image', 'import', busyboxTar, '--change', 'ONBUILD RUN x'],
        /--change #1 "ONBUILD RUN x": ONBUILD is not supported/,
      ],
      [['image', 'import', await writeTemp(Buffer.from('hello'), scratch)], /not a tar archive/],
      [
        [
          'image',
          'import',
          await writeTemp(
            await dockerSaveTar([
              { layers: [await tarOf([{ name: 'a/../../x', content: '' }])], tags: ['e:1'] },
            ]),
            scratch,
          ),
        ],
        /escapes the layer root/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await tsswarm(dataRoot, args);
      expect(r.code, args.join(' ')).toBe(125);
      expect(r.stderr).toMatch(message);
    }
  });

  it('removes the last tag and deletes the image and its layer', async () => {
    const r = await tsswarm(dataRoot, ['rmi', 'busybox']);
    expect(r.stdout).toMatch(/^Untagged: busybox:latest\nDeleted: sha256:[0-9a-f]{64}\n/);
    expect((await tsswarm(dataRoot, ['images', '-q'])).stdout).toBe('');
  });
});
