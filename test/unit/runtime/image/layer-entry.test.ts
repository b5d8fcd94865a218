import { describe, expect, it } from 'vitest';
import {
  LayerEntryPlanner,
  normaliseEntryPath,
  symlinkStaysInside,
} from '../../../../src/runtime/image/layer-entry.js';

describe('layer entry planning', () => {
  it('normalises member names and refuses ..', () => {
    expect(normaliseEntryPath('./bin/sh')).toBe('bin/sh');
    expect(normaliseEntryPath('/etc//passwd')).toBe('etc/passwd');
    expect(normaliseEntryPath('./')).toBe('.');
    expect(normaliseEntryPath('a/./b/')).toBe('a/b');
    expect(normaliseEntryPath('../etc/passwd')).toBeUndefined();
    expect(normaliseEntryPath('a/../../b')).toBeUndefined();
    expect(normaliseEntryPath('a/../b')).toBeUndefined();
  });

  it('maps whiteouts to overlay semantics', () => {
    const p = new LayerEntryPlanner();
    expect(p.plan({ name: 'etc/.wh.passwd', type: 'file' })).toEqual({
      kind: 'whiteout',
      path: 'etc/passwd',
    });
    expect(p.plan({ name: './.wh.tmp', type: 'file' })).toEqual({ kind: 'whiteout', path: 'tmp' });
    expect(p.plan({ name: 'var/lib/.wh..wh..opq', type: 'file' })).toEqual({
      kind: 'opaque',
      dir: 'var/lib',
    });
    expect(p.plan({ name: '.wh..wh..opq', type: 'file' })).toEqual({ kind: 'opaque', dir: '.' });
    expect(p.plan({ name: '.wh..wh.plnk/123', type: 'file' })).toMatchObject({ kind: 'write' });
    expect(p.plan({ name: 'x/.wh..wh.aufs', type: 'file' })).toMatchObject({ kind: 'skip' });
  });

  it('writes ordinary entries with normalised names and link targets', () => {
    const p = new LayerEntryPlanner();
    expect(p.plan({ name: './bin/', type: 'directory' })).toEqual({ kind: 'write', path: 'bin' });
    expect(p.plan({ name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' })).toEqual({
      kind: 'write',
      path: 'bin/sh',
      linkname: '/bin/busybox',
    });
    expect(p.plan({ name: 'bin/ls', type: 'link', linkname: './bin/busybox' })).toEqual({
      kind: 'write',
      path: 'bin/ls',
      linkname: 'bin/busybox',
    });
    expect(p.plan({ name: 'dev/null', type: 'character-device' })).toMatchObject({ kind: 'write' });
    expect(p.plan({ name: 'x', type: 'pax-global-header' })).toMatchObject({ kind: 'skip' });
  });

  it('refuses path traversal', () => {
    const p = new LayerEntryPlanner();
    expect(p.plan({ name: '../escape', type: 'file' })).toMatchObject({
      kind: 'refuse',
      reason: expect.stringMatching(/escapes the layer root/) as unknown,
    });
    expect(p.plan({ name: 'a/b', type: 'symlink', linkname: '../../etc' })).toMatchObject({
      kind: 'refuse',
      reason: expect.stringMatching(/points outside the layer root/) as unknown,
    });
    expect(p.plan({ name: 'h', type: 'link', linkname: '../etc/shadow' })).toMatchObject({
      kind: 'refuse',
    });
    expect(p.plan({ name: 'h', type: 'link', linkname: '/etc/../../x' })).toMatchObject({
      kind: 'refuse',
    });
    // A symlink to an absolute path is fine (it resolves in the container), but nothing may
    // be written through it within the same layer.
    expect(p.plan({ name: 'etcl', type: 'symlink', linkname: '/etc' })).toMatchObject({
      kind: 'write',
    });
    expect(p.plan({ name: 'etcl/passwd', type: 'file' })).toMatchObject({
      kind: 'refuse',
      reason: expect.stringMatching(/through the symlink "etcl"/) as unknown,
    });
    expect(p.plan({ name: 'etcl', type: 'directory' })).toMatchObject({ kind: 'refuse' });
    expect(p.plan({ name: 'hl', type: 'link', linkname: 'etcl/shadow' })).toMatchObject({
      kind: 'refuse',
    });
  });

  it('checks symlink targets as docker does', () => {
    expect(symlinkStaysInside('a/b/c', '../../x')).toBe(true);
    expect(symlinkStaysInside('a/b/c', '../../../x')).toBe(false);
    expect(symlinkStaysInside('a', '/anything/../../..')).toBe(true);
    expect(symlinkStaysInside('a', '.')).toBe(true);
  });
});
