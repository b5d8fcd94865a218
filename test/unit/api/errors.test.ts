import { describe, expect, it } from 'vitest';
import { ErrorCode, TsswarmError, fromWire } from '../../../src/api/errors.js';

describe('error codes', () => {
  it('are unique and stable in shape', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^TSS_[A-Z_]+$/);
  });

  it('survive the wire', () => {
    const e = new TsswarmError(ErrorCode.NotFound, 'no such image: nope');
    const back = fromWire(JSON.parse(JSON.stringify(e.toWire())) as ReturnType<typeof e.toWire>);
    expect(back.code).toBe(ErrorCode.NotFound);
    expect(back.message).toBe('no such image: nope');
  });
});
