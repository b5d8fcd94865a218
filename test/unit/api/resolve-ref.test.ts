import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/api/errors.js';
import { resolveRef, type RefIndex } from '../../../src/api/resolve-ref.js';

interface Obj {
  ID: string;
  Name: string;
}

function index(objs: Obj[]): RefIndex<Obj> {
  return {
    get: (id) => objs.find((o) => o.ID === id),
    find: (q) =>
      q.by === 'name'
        ? objs.filter((o) => o.Name.toLowerCase() === q.name.toLowerCase())
        : objs.filter((o) => o.ID.startsWith(q.prefix)),
  };
}

const a = { ID: 'abc123', Name: 'web' };
const b = { ID: 'abd456', Name: 'db' };
const c = { ID: 'fff000', Name: 'abc123x' };

describe('resolveRef (docker: full id, then name, then a unique id prefix)', () => {
  it('finds by full id, by name, by a unique prefix', () => {
    const t = index([a, b, c]);
    expect(resolveRef(t, 'abc123', 'service')).toBe(a);
    expect(resolveRef(t, 'db', 'service')).toBe(b);
    expect(resolveRef(t, 'abd', 'service')).toBe(b);
  });

  it('a full id wins over a name, a name over a prefix', () => {
    const named = { ID: 'zzz', Name: 'abd' };
    expect(resolveRef(index([a, c]), 'abc123', 'service')).toBe(a);
    expect(resolveRef(index([b, named]), 'abd', 'service')).toBe(named);
  });

  it('refuses an ambiguous prefix or name, and says what is not found', () => {
    expect(() => resolveRef(index([a, b]), 'ab', 'node')).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidArgument,
        message: 'node ab is ambiguous (2 matches found)',
      }),
    );
    const twin = { ID: 'x1', Name: 'web' };
    expect(() => resolveRef(index([a, twin]), 'web', 'node')).toThrow(
      'node web is ambiguous (2 matches found)',
    );
    expect(() => resolveRef(index([a]), 'nope', 'network')).toThrow(
      expect.objectContaining({ code: ErrorCode.NotFound, message: 'network nope not found' }),
    );
    expect(() => resolveRef(index([a]), '', 'network')).toThrow('network  not found');
  });
});
