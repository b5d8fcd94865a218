import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  certificatePaths,
  readNodeCertificate,
  readRootCa,
  writeNodeCertificate,
  writeRootCa,
} from '../../../src/ca/index.js';
import { testPki } from '../../helpers/certs.js';

describe('certificate store', () => {
  let dataRoot = '';
  beforeEach(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'tsswarm-ca-'));
  });
  afterEach(async () => {
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('round-trips the CA and a node certificate, keys readable by the owner only', async () => {
    const { ca, node } = await testPki(['m1']);
    expect(await readRootCa(dataRoot)).toBeUndefined();
    expect(await readNodeCertificate(dataRoot)).toBeUndefined();
    await writeRootCa(dataRoot, ca);
    await writeNodeCertificate(dataRoot, node('m1'));
    expect(await readRootCa(dataRoot)).toEqual(ca);
    expect(await readNodeCertificate(dataRoot)).toEqual({
      certPem: node('m1').certPem,
      keyPem: node('m1').keyPem,
    });
    const paths = certificatePaths(dataRoot);
    expect((await stat(paths.caKey)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.nodeKey)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.caCert)).mode & 0o777).toBe(0o644);
    // Atomic writes leave no temp files behind.
    expect((await readdir(join(dataRoot, 'certificates'))).sort()).toEqual([
      'swarm-node.crt',
      'swarm-node.key',
      'swarm-root-ca.crt',
      'swarm-root-ca.key',
    ]);
  });

  it('stores only the trust root on a worker', async () => {
    const { ca } = await testPki([]);
    await writeRootCa(dataRoot, { certPem: ca.certPem, digest: ca.digest });
    expect(await readRootCa(dataRoot)).toEqual({ certPem: ca.certPem, digest: ca.digest });
  });
});
