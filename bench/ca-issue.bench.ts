// Cost of the cluster CA's operations: issuing a node certificate (with and without a fresh
// key pair), verifying one, and a join token round trip. Anchor: `openssl` when installed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import {
  createRootCa,
  generateJoinToken,
  issueCertificate,
  matchJoinToken,
  verifyNodeCertificate,
} from '../src/ca/index.js';

const rounds = 200;

async function timeMs(
  n: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ meanMs: number; p99Ms: number }> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  return { meanMs: round(mean), p99Ms: round(samples[Math.floor(n * 0.99)] ?? mean) };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

const caStart = performance.now();
const ca = await createRootCa();
const createCaMs = round(performance.now() - caStart);
await issueCertificate(ca, { nodeId: 'warm', role: 'worker', clusterId: 'c' }); // import the CA key once

const withKey = await timeMs(rounds, (i) =>
  issueCertificate(ca, { nodeId: `n${i}`, role: 'worker', clusterId: 'c' }),
);
const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const csrLike = await timeMs(rounds, (i) =>
  issueCertificate(ca, { nodeId: `n${i}`, role: 'manager', clusterId: 'c', publicKeyPem: spki }),
);
const cert = await issueCertificate(ca, { nodeId: 'v', role: 'manager', clusterId: 'c' });
const verify = await timeMs(rounds, () => verifyNodeCertificate(cert.certPem, ca.certPem));
const tokens = { worker: generateJoinToken(ca.digest), manager: generateJoinToken(ca.digest) };
const tokenMatch = await timeMs(rounds, () =>
  Promise.resolve(matchJoinToken(tokens.manager, tokens)),
);

// Anchor: openssl signing an EC P-256 certificate for a fresh key, process start included.
let openssl: { meanMs: number } | undefined;
try {
  const dir = mkdtempSync(join(tmpdir(), 'tsswarm-bench-ca-'));
  try {
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    const n = 20;
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      execFileSync(
        'openssl',
        [
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          join(dir, 'n.key'),
          '-subj',
          `/O=c/OU=swarm-worker/CN=n${i}`,
          '-out',
          join(dir, 'n.csr'),
        ],
        { stdio: 'ignore' },
      );
      execFileSync(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          join(dir, 'n.csr'),
          '-CA',
          join(dir, 'ca.crt'),
          '-CAkey',
          join(dir, 'ca.key'),
          '-days',
          '90',
          '-out',
          join(dir, 'n.crt'),
        ],
        { stdio: 'ignore' },
      );
    }
    openssl = { meanMs: round((performance.now() - t) / n) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} catch {
  openssl = undefined;
}

console.log(
  JSON.stringify({
    bench: 'ca-issue',
    rounds,
    createCaMs,
    issueWithNewKey: withKey,
    issueForJoinerKey: csrLike,
    verifyNodeCert: verify,
    matchJoinToken: tokenMatch,
    ...(openssl
      ? {
          anchorOpensslCliIssueMeanMs: openssl.meanMs,
          ratioVsOpensslCli: round(withKey.meanMs / openssl.meanMs),
        }
      : {}),
  }),
);
