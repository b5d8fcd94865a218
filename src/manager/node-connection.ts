import { connect, type NatsConnection } from 'nats';
import { ErrorCode, TsswarmError } from '../api/index.js';
import { readNodeCertificate, type RootCa } from '../ca/index.js';
import { localNatsUrl, type ManagerConfig } from './manager-config.js';
import { nodeClientOptions } from './nats/index.js';

/** A connection to this manager's own nats-server under its node certificate. */
export async function connectAsNode(
  config: ManagerConfig,
  ca: RootCa | undefined,
  purpose: string,
): Promise<NatsConnection> {
  const cert = await readNodeCertificate(config.dataRoot);
  if (!cert || !ca) throw new TsswarmError(ErrorCode.DataCorrupt, 'certificates vanished');
  return connect({
    ...nodeClientOptions([localNatsUrl(config)], {
      nodeId: config.nodeId,
      caPem: ca.certPem,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
    }),
    name: `${config.nodeId}-${purpose}`,
  });
}
