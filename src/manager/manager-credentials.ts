import { createRootCa, issueCertificate, writeNodeCertificate, writeRootCa } from '../ca/index.js';
import { generateSecretKey, writeSecretKey } from './secrets/index.js';

/** Creates the cluster's root CA and this node's certificate under the data root (swarm init). */
export async function initManagerCredentials(c: {
  dataRoot: string;
  nodeId: string;
  clusterId: string;
  advertiseAddr: string;
}): Promise<void> {
  const ca = await createRootCa({ commonName: 'swarm-ca' });
  const cert = await issueCertificate(ca, {
    nodeId: c.nodeId,
    role: 'manager',
    clusterId: c.clusterId,
    sans: { dns: ['localhost'], ips: [...new Set(['127.0.0.1', c.advertiseAddr])] },
  });
  await writeRootCa(c.dataRoot, ca);
  await writeSecretKey(c.dataRoot, generateSecretKey());
  await writeNodeCertificate(c.dataRoot, { certPem: cert.certPem, keyPem: cert.keyPem ?? '' });
}
