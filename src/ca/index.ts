export { createRootCa, certificateDigest, defaultRootCaValidityDays } from './root-ca.js';
export type { RootCa, RootCaOptions, TrustRoot } from './root-ca.js';
export { issueCertificate, defaultNodeCertValidityDays } from './issue-certificate.js';
export type { IssueRequest, NodeCertificate } from './issue-certificate.js';
export { parseNodeIdentity, managerOu, workerOu, roleToOu, checkId } from './node-identity.js';
export type { NodeIdentity, NodeRole, ParsedIdentity } from './node-identity.js';
export { verifyNodeCertificate } from './verify-certificate.js';
export type { CertificateCheck } from './verify-certificate.js';
export {
  generateJoinToken,
  generateJoinTokens,
  rotateJoinToken,
  parseJoinToken,
  matchJoinToken,
  checkCaAgainstToken,
} from './join-token.js';
export type {
  JoinToken,
  JoinTokens,
  JoinTokenProblem,
  ParsedJoinToken,
  JoinTokenMatch,
  CaPinCheck,
  RandomSource,
} from './join-token.js';
export {
  certificatesDir,
  certificatePaths,
  certificateFiles,
  writeRootCa,
  readRootCa,
  writeNodeCertificate,
  readNodeCertificate,
  writeFileAtomic,
} from './certificate-store.js';
export {
  mutualTlsServerOptions,
  mutualTlsClientOptions,
  peerIdentity,
  hasRole,
} from './tls-options.js';
export type { NodeCredentials } from './tls-options.js';
