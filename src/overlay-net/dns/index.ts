// The embedded DNS server: wire format, the name table, the UDP/TCP server.
export { DnsServer, liveDnsServers } from './dns-server.js';
export type { DnsListener, DnsServerOptions } from './dns-server.js';
export { DnsTable, SERVICE_TTL_SEC, TASK_TTL_SEC } from './dns-table.js';
export type {
  DnsClient,
  DnsNetwork,
  DnsService,
  DnsTableSpec,
  DnsTask,
  Resolution,
} from './dns-table.js';
export {
  CLASS_IN,
  DnsFormatError,
  Rcode,
  RecordType,
  addressFromReverseName,
  decodeMessage,
  encodeMessage,
  reverseName,
} from './wire.js';
export type { DnsMessage, DnsQuestion, DnsRecord } from './wire.js';
