import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseReference } from '../../../../src/runtime/image/index.js';
import { LayerEntryPlanner } from '../../../../src/runtime/image/layer-entry.js';

const segment = fc.constantFrom('..', '.', '', 'a', 'b', 'etc', '.wh.x', '.wh..wh..opq', 'l');
const name = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join('/'));
const entry = fc.record({
  name: fc.oneof(
    name,
    name.map((n) => `/${n}`),
  ),
  type: fc.constantFrom('file', 'directory', 'symlink', 'link') as fc.Arbitrary<
    'file' | 'directory' | 'symlink' | 'link'
  >,
  linkname: fc.oneof(
    name,
    name.map((n) => `/${n}`),
  ),
});

describe('properties', () => {
  it('no planned path or hard link target leaves the layer root', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
        const planner = new LayerEntryPlanner();
        const symlinks = new Set<string>();
        for (const e of entries) {
          const plan = planner.plan(e);
          if (plan.kind === 'write' || plan.kind === 'whiteout') {
            const parts = plan.path.split('/');
            expect(parts).not.toContain('..');
            expect(plan.path.startsWith('/')).toBe(false);
            // Nothing is written below a symlink made earlier in the same layer.
            for (let i = 1; i < parts.length; i++) {
              expect(symlinks.has(parts.slice(0, i).join('/'))).toBe(false);
            }
            if (plan.kind === 'write' && e.type === 'symlink') symlinks.add(plan.path);
            if (plan.kind === 'write' && e.type === 'link') {
              expect((plan.linkname ?? '').split('/')).not.toContain('..');
            }
          }
        }
      }),
      { seed: 20261122, numRuns: 500 },
    );
  });

  it('normalising a reference twice changes nothing', () => {
    const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?$/);
    const ref = fc
      .record({
        domain: fc.constantFrom('', 'docker.io/', 'localhost/', 'reg.example:5000/'),
        library: fc.boolean(),
        path: fc.array(component, { minLength: 1, maxLength: 3 }),
        tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/)),
      })
      .map(
        (r) =>
          `${r.domain}${r.library ? 'library/' : ''}${r.path.join('/')}${r.tag === null ? '' : `:${r.tag}`}`,
      );
    fc.assert(
      fc.property(ref, (r) => {
        const once = normaliseReference(r);
        expect(normaliseReference(once)).toBe(once);
        expect(once).toMatch(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      }),
      { seed: 20261122, numRuns: 500 },
    );
  });
});
