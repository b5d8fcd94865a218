import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { certificateDigest } from './certificate-digest.js';
import type { RootCa, TrustRoot } from './root-ca.js';
import type { NodeCertificate } from './issue-certificate.js';

export { certificateDigest };

/** Where a node keeps its certificates: `<data-root>/certificates/`, laid out as swarmkit does. */
export function certificatesDir(dataRoot: string): string {
  return join(dataRoot, 'certificates');
}

export const certificateFiles = {
  caCert: 'swarm-root-ca.crt',
  caKey: 'swarm-root-ca.key',
  nodeCert: 'swarm-node.crt',
  nodeKey: 'swarm-node.key',
} as const;

export function certificatePaths(dataRoot: string): Record<keyof typeof certificateFiles, string> {
  const dir = certificatesDir(dataRoot);
  return {
    caCert: join(dir, certificateFiles.caCert),
    caKey: join(dir, certificateFiles.caKey),
    nodeCert: join(dir, certificateFiles.nodeCert),
    nodeKey: join(dir, certificateFiles.nodeKey),
  };
}

/** Writes the CA certificate and, on managers, its key (0600). Workers pass only the trust root. */
export async function writeRootCa(dataRoot: string, ca: RootCa | TrustRoot): Promise<void> {
  const paths = certificatePaths(dataRoot);
  // Key first: a reader that finds the certificate may then rely on the key being there.
  if ('keyPem' in ca) await writeFileAtomic(paths.caKey, ca.keyPem, 0o600);
  await writeFileAtomic(paths.caCert, ca.certPem, 0o644);
}

/** The stored CA, with its key when this node holds it; undefined when none was written yet. */
export async function readRootCa(dataRoot: string): Promise<RootCa | TrustRoot | undefined> {
  const paths = certificatePaths(dataRoot);
  const certPem = await readIfExists(paths.caCert);
  if (certPem === undefined) return undefined;
  const keyPem = await readIfExists(paths.caKey);
  const digest = certificateDigest(certPem);
  return keyPem === undefined ? { certPem, digest } : { certPem, keyPem, digest };
}

export async function writeNodeCertificate(
  dataRoot: string,
  cert: Required<NodeCertificate>,
): Promise<void> {
  const paths = certificatePaths(dataRoot);
  await writeFileAtomic(paths.nodeKey, cert.keyPem, 0o600);
  await writeFileAtomic(paths.nodeCert, cert.certPem, 0o644);
}

export async function readNodeCertificate(
  dataRoot: string,
): Promise<Required<NodeCertificate> | undefined> {
  const paths = certificatePaths(dataRoot);
  const certPem = await readIfExists(paths.nodeCert);
  const keyPem = await readIfExists(paths.nodeKey);
  if (certPem === undefined || keyPem === undefined) return undefined;
  return { certPem, keyPem };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Temp file in the same directory, created with its final mode (a key is never readable by
 * others, not even briefly), fsynced, renamed over the target, then the directory fsynced so
 * the rename survives a crash.
 */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(tmp, 'wx', mode);
    try {
      await file.writeFile(content);
      await file.chmod(mode); // the umask may have narrowed or the file-creation mode ignored
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
