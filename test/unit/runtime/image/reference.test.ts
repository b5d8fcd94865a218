import { describe, expect, it } from 'vitest';
import { normaliseReference, parseReference } from '../../../../src/runtime/image/index.js';

describe('image reference normalisation', () => {
  it.each([
    ['busybox', 'busybox:latest'],
    ['busybox:1.36', 'busybox:1.36'],
    ['docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['index.docker.io/library/busybox', 'busybox:latest'],
    ['library/busybox', 'busybox:latest'],
    ['docker.io/me/app', 'me/app:latest'],
    ['me/app:v1.2-rc_3', 'me/app:v1.2-rc_3'],
    ['localhost/app', 'localhost/app:latest'],
    ['registry.example:5000/team/app:2', 'registry.example:5000/team/app:2'],
    ['my.registry/app', 'my.registry/app:latest'],
    ['a__b/c-d.e', 'a__b/c-d.e:latest'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseReference(input)).toBe(expected);
  });

  it('keeps a digest', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`busybox@${d}`)).toMatchObject({
      repository: 'busybox',
      digest: d,
      name: `busybox@${d}`,
    });
  });

  it.each([
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['busybox:', /tag ""/],
    ['busybox:-bad', /tag "-bad"/],
    ['bad//name', /path component ""/],
    ['-app', /path component "-app"/],
    [`busybox@sha256:abc`, /digest/],
    ['a'.repeat(64), /image id/],
  ])('refuses %j', (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
  });
});
