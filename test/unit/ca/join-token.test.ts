import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkCaAgainstToken,
  createRootCa,
  generateJoinToken,
  generateJoinTokens,
  matchJoinToken,
  parseJoinToken,
  rotateJoinToken,
} from '../../../src/ca/index.js';
import { testPki } from '../../helpers/certs.js';

const digest = 'ab'.repeat(32);

describe('join tokens', () => {
  it("has Docker's layout and round-trips the CA digest", () => {
    const token = generateJoinToken(digest);
    expect(token).toMatch(/^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    const parsed = parseJoinToken(token);
    expect(parsed).toMatchObject({ ok: true, token: { version: 1, caDigest: digest } });
  });

  it('round-trips any digest and any secret bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (d, s) => {
          const hex = Buffer.from(d).toString('hex');
          const token = generateJoinToken(hex, () => s);
          const parsed = parseJoinToken(token);
          expect(parsed.ok && parsed.token.caDigest).toBe(hex);
          expect(token.length).toBe('SWMTKN-1-'.length + 50 + 1 + 25);
        },
      ),
    );
  });

  it('explains what is wrong with a malformed token', () => {
    const good = generateJoinToken(digest);
    const [, , d = '', s = ''] = good.split('-');
    const cases: [string, string, RegExp][] = [
      ['SWMTKX-1-' + d + '-' + s, 'bad-prefix', /must start with "SWMTKN-"/],
      ['', 'bad-prefix', /must start/],
      ['SWMTKN-2-' + d + '-' + s, 'bad-version', /version "2" is not supported/],
      ['SWMTKN-1-' + d.slice(1) + '-' + s, 'bad-digest-length', /49 characters, expected 50/],
      ['SWMTKN-1-' + d + '-' + s + 'x', 'bad-secret-length', /26 characters, expected 25/],
      ['SWMTKN-1-' + d + '-' + s.toUpperCase().replace(/^./, 'Z'), 'bad-characters', /base36/],
      ['SWMTKN-1-' + d, 'bad-format', /3 dash-separated parts/],
      ['SWMTKN-1-' + 'z'.repeat(50) + '-' + s, 'bad-digest-length', /larger than a sha256/],
    ];
    for (const [token, problem, message] of cases) {
      const parsed = parseJoinToken(token);
      expect(parsed).toMatchObject({ ok: false, problem });
      expect(!parsed.ok && parsed.message).toMatch(message);
      expect(!parsed.ok && parsed.message).toMatch(/^invalid join token: /);
    }
  });

  it('admits by role, and a rotated token no longer admits', () => {
    const tokens = generateJoinTokens(digest);
    expect(tokens.worker).not.toBe(tokens.manager);
    expect(matchJoinToken(tokens.worker, tokens)).toEqual({ ok: true, role: 'worker' });
    expect(matchJoinToken(tokens.manager, tokens)).toEqual({ ok: true, role: 'manager' });
    const rotated = { ...tokens, worker: rotateJoinToken(tokens.worker) };
    expect(parseJoinToken(rotated.worker)).toMatchObject({ ok: true, token: { caDigest: digest } });
    const old = matchJoinToken(tokens.worker, rotated);
    expect(old).toMatchObject({ ok: false });
    expect(!old.ok && old.message).toMatch(/rotated/);
    expect(matchJoinToken(rotated.worker, rotated)).toEqual({ ok: true, role: 'worker' });
    const foreign = matchJoinToken(generateJoinToken('cd'.repeat(32)), tokens);
    expect(!foreign.ok && foreign.message).toMatch(/another cluster/);
    const malformed = matchJoinToken('SWMTKN-9-x-y', tokens);
    expect(!malformed.ok && malformed.message).toMatch(/invalid join token/);
  });

  it("lets a joiner pin the manager's CA", async () => {
    const { ca } = await testPki([]);
    const token = generateJoinToken(ca.digest);
    expect(checkCaAgainstToken(token, ca.certPem)).toEqual({ ok: true });
    const impostor = await createRootCa({ commonName: 'tsswarm-test-ca' });
    const check = checkCaAgainstToken(token, impostor.certPem);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.message).toMatch(/is not the one the join token pins/);
    expect(checkCaAgainstToken(token, 'not pem').ok).toBe(false);
    expect(checkCaAgainstToken('SWMTKN-1-short', ca.certPem).ok).toBe(false);
  });
});
