import { Linter } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM module of the lint set-up, with no type declarations
import { boundariesPlugin } from '../../../scripts/lint/boundaries.mjs';

const srcRoot = join(import.meta.dirname, '../../../src');

function lint(file: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    code,
    [
      {
        files: ['**/*.ts'],
        plugins: { tsswarm: boundariesPlugin },
        rules: { 'tsswarm/src-boundaries': ['error', { srcRoot }] },
      },
    ],
    join(srcRoot, file),
  );
  return messages.map((m) => m.message);
}

describe('the src/ boundary rule', () => {
  it('refuses an import that runs upward or sideways', () => {
    expect(lint('api/x.ts', "import { Manager } from '../manager/manager.js';")).toEqual([
      expect.stringContaining("src/api may not import src/manager ('../manager/manager.js')"),
    ]);
    expect(lint('scheduler/x.ts', "export * from '../runtime/index.js';")).toHaveLength(1);
    expect(lint('worker/x.ts', "const m = await import('../manager/index.js');")).toHaveLength(1);
    expect(lint('manager/store/x.ts', "import '../../worker/index.js';")).toHaveLength(1);
    expect(lint('cli/commands/x.ts', "import '../../daemon/api-server.js';")).toHaveLength(1);
  });

  it('accepts its own folder, the allowed folders and the named exceptions', () => {
    expect(lint('manager/raft/x.ts', "import '../../api/index.js'; import './types.js';")).toEqual(
      [],
    );
    expect(lint('cli/commands/x.ts', "import '../../daemon/run-daemon.js';")).toEqual([]);
    expect(lint('runtime/x.ts', "import 'node:fs'; import 'tar-stream';")).toEqual([]);
  });

  it('names a new folder that has no rule', () => {
    expect(lint('newthing/x.ts', 'export {};')).toEqual([
      expect.stringContaining('src/newthing is a folder with no dependency rule'),
    ]);
  });
});
