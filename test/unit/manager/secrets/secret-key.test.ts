import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  generateSecretKey,
  loadOrCreateSecretKey,
  readSecretKey,
  seal,
  secretKeyPath,
  unseal,
} from '../../../../src/manager/secrets/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('secret sealing (AES-256-GCM)', () => {
  const key = generateSecretKey();
  const text = Buffer.from('hunter2 is my password');

  it('round-trips, with a fresh IV each time and no clear text in the sealed value', () => {
    const a = seal(key, text, 'id1');
    const b = seal(key, text, 'id1');
    expect(a).not.toBe(b);
    expect(a.startsWith('aes-256-gcm:v1:')).toBe(true);
    expect(a).not.toContain(text.toString('base64'));
    expect(Buffer.from(a.slice(15), 'base64').includes(text)).toBe(false);
    expect(unseal(key, a, 'id1')).toEqual(text);
  });

  it('refuses another key, another object id and tampering, without the secret in the error', () => {
    const sealed = seal(key, text, 'id1');
    expect(() => unseal(generateSecretKey(), sealed, 'id1')).toThrow(
      "secret id1 does not open with this manager's key",
    );
    expect(() => unseal(key, sealed, 'id2')).toThrow('secret id2 does not open');
    const raw = Buffer.from(sealed.slice(15), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => unseal(key, `aes-256-gcm:v1:${raw.toString('base64')}`, 'id1')).toThrow(
      'does not open',
    );
    expect(() => unseal(key, 'plain', 'id1')).toThrow('unknown format');
    expect(() => unseal(key, 'aes-256-gcm:v1:AAAA', 'id1')).toThrow('truncated');
    try {
      unseal(generateSecretKey(), sealed, 'id1');
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('hunter2');
    }
  });

  it('keeps the key under certificates/ with mode 0600, created once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsswarm-key-'));
    dirs.push(dir);
    expect(await readSecretKey(dir)).toBeUndefined();
    const k = await loadOrCreateSecretKey(dir);
    expect(k).toHaveLength(32);
    expect((await stat(secretKeyPath(dir))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateSecretKey(dir)).toEqual(k);
    expect((await readFile(secretKeyPath(dir), 'utf8')).trim()).toBe(k.toString('base64'));
  });
});
