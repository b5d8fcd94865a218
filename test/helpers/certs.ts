import { createRootCa, issueCertificate, type NodeRole, type RootCa } from '../../src/ca/index.js';

export interface TestNodeCert {
  nodeId: string;
  role: NodeRole;
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  clusterId: string;
  ca: RootCa;
  nodes: Record<string, TestNodeCert>;
  /** Certificate for `nodeId`; throws when the node was not requested. */
  node(nodeId: string): TestNodeCert;
}

export interface TestPkiOptions {
  /** Default role of every node; `workers` overrides it per node. */
  role?: NodeRole;
  workers?: string[];
  clusterId?: string;
}

let caPromise: Promise<RootCa> | undefined;
const certCache = new Map<string, Promise<TestNodeCert>>();

/**
 * One CA per test process and one certificate per (node, role), cached: signing is cheap but
 * not free, and suites ask for the same nodes again and again. Certificates carry
 * localhost/127.0.0.1/::1 so they serve loopback TLS servers.
 */
export async function testPki(nodeIds: string[], options: TestPkiOptions = {}): Promise<TestPki> {
  const clusterId = options.clusterId ?? 'test-cluster';
  caPromise ??= createRootCa({ commonName: 'tsswarm-test-ca' });
  const ca = await caPromise;
  const workers = new Set(options.workers ?? []);
  const entries = await Promise.all(
    nodeIds.map((nodeId) => {
      const role: NodeRole = workers.has(nodeId) ? 'worker' : (options.role ?? 'manager');
      const key = `${clusterId}/${nodeId}/${role}`;
      let cert = certCache.get(key);
      if (cert === undefined) {
        cert = issueCertificate(ca, {
          nodeId,
          role,
          clusterId,
          sans: { dns: ['localhost'], ips: ['127.0.0.1', '::1'] },
        }).then((c) => ({ nodeId, role, certPem: c.certPem, keyPem: c.keyPem ?? '' }));
        certCache.set(key, cert);
      }
      return cert;
    }),
  );
  const nodes = Object.fromEntries(entries.map((e) => [e.nodeId, e]));
  return {
    clusterId,
    ca,
    nodes,
    node(nodeId) {
      const n = nodes[nodeId];
      if (n === undefined) throw new Error(`testPki: no certificate was requested for ${nodeId}`);
      return n;
    },
  };
}
