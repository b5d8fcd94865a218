import { describe, expect, it } from 'vitest';
import { interpolateString } from '../../../src/compose/index.js';

const env: Record<string, string> = { SET: 'value', EMPTY: '', B: 'bee' };
const lookup = (n: string) => env[n];
const ok = (s: string) => {
  const r = interpolateString(s, lookup);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('interpolateString', () => {
  it('expands $VAR and ${VAR}; unset is empty', () => {
    expect(ok('a-$SET-${SET}-$UNSET-${UNSET}')).toBe('a-value-value--');
  });
  it('applies :- and - (empty counts as unset only with the colon)', () => {
    expect(ok('${UNSET:-d}|${EMPTY:-d}|${SET:-d}')).toBe('d|d|value');
    expect(ok('${UNSET-d}|${EMPTY-d}|${SET-d}')).toBe('d||value');
  });
  it('applies :+ and +', () => {
    expect(ok('${SET:+alt}|${EMPTY:+alt}|${UNSET:+alt}')).toBe('alt||');
    expect(ok('${EMPTY+alt}|${UNSET+alt}')).toBe('alt|');
  });
  it('fails on :? and ? naming the variable and the message', () => {
    const r = interpolateString('x ${NEEDED:?set NEEDED first}', lookup);
    expect(r).toEqual({
      ok: false,
      error: 'required variable NEEDED is missing a value: set NEEDED first',
    });
    expect(interpolateString('${EMPTY:?}', lookup).ok).toBe(false);
    expect(ok('${EMPTY?}')).toBe('');
    const q = interpolateString('${UNSET?}', lookup);
    expect(q.ok ? '' : q.error).toContain('UNSET');
  });
  it('turns $$ into $ and leaves a lone $ alone', () => {
    expect(ok('$$SET costs $5 $')).toBe('$SET costs $5 $');
  });
  it('nests defaults', () => {
    expect(ok('${UNSET:-${B:-x}}')).toBe('bee');
    expect(ok('${UNSET:-${ALSO_UNSET:-inner}}')).toBe('inner');
  });
  it('keeps a default with dollars as written (bcrypt hashes), as docker does', () => {
    expect(ok('${P:-$2y$05$abc}')).toBe('$2y$05$abc');
  });
  it('rejects an unterminated or malformed reference', () => {
    expect(interpolateString('${SET', lookup).ok).toBe(false);
    expect(interpolateString('${1X}', lookup).ok).toBe(false);
    expect(interpolateString('${SET!x}', lookup).ok).toBe(false);
  });
});
