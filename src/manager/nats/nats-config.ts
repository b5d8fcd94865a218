import { isIP } from 'node:net';
import { invalidArgument } from '../../api/errors.js';
import type { NodeIdentity } from '../../ca/index.js';
import { managerOu, workerOu } from '../../ca/index.js';
import { subjects } from './subjects.js';

export interface HostPort {
  host: string;
  port: number;
}

/** What one manager's nats-server is: its listeners, its routes to the other managers, its users. */
export interface NatsServerConfig {
  /** The manager's node id; shows up as the server name in routes and monitoring. */
  serverName: string;
  /** The cluster id; every route of a cluster must carry the same name. */
  clusterName: string;
  client: HostPort;
  /** Route listener for the other managers' servers. */
  cluster: HostPort;
  /** The other managers' route URLs, `nats-route://host:port`. Changing them is a reload. */
  routes: string[];
  /**
   * host:port other nodes reach the client and route listeners at, gossiped to clients and
   * routes (a server listening on 0.0.0.0 would otherwise gossip every local address).
   */
  clientAdvertise?: string;
  clusterAdvertise?: string;
  /** HTTP monitoring (/healthz, /varz, /routez), loopback only: it is not authenticated. */
  monitor: HostPort;
  tls: { certFile: string; keyFile: string; caFile: string; handshakeTimeoutMs: number };
  /** One NATS user per node, identified by its certificate subject. */
  users: NodeIdentity[];
  pidFile: string;
  maxPayloadBytes: number;
  /** Clients whose pings go unanswered this long are dropped (pingIntervalMs × maxPingsOut). */
  pingIntervalMs: number;
  maxPingsOut: number;
}

export function defaultNatsServerConfig(): NatsServerConfig {
  return {
    serverName: '',
    clusterName: '',
    client: { host: '0.0.0.0', port: 4222 },
    cluster: { host: '0.0.0.0', port: 6222 },
    routes: [],
    monitor: { host: '127.0.0.1', port: 8222 },
    tls: { certFile: '', keyFile: '', caFile: '', handshakeTimeoutMs: 2000 },
    users: [],
    pidFile: '',
    maxPayloadBytes: 1024 * 1024,
    pingIntervalMs: 10_000,
    maxPingsOut: 3,
  };
}

const namePattern = /^[A-Za-z0-9_-]{1,128}$/;
const routePattern = /^nats-route:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Throws TSS_INVALID_ARGUMENT naming the first wrong field; a valid config renders and loads. */
export function validateNatsServerConfig(config: NatsServerConfig): void {
  const bad = (field: string, value: unknown, why: string): never => {
    throw invalidArgument(`nats config ${field} ${JSON.stringify(value)}: ${why}`);
  };
  if (!namePattern.test(config.serverName))
    bad('serverName', config.serverName, 'use 1-128 letters, digits, _ or -');
  if (!namePattern.test(config.clusterName))
    bad('clusterName', config.clusterName, 'use 1-128 letters, digits, _ or -');
  for (const field of ['client', 'cluster', 'monitor'] as const) {
    const { host, port } = config[field];
    if (isIP(host) === 0) bad(`${field}.host`, host, 'must be an IPv4 or IPv6 address');
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      bad(`${field}.port`, port, 'must be 1-65535');
  }
  if (!isLoopback(config.monitor.host))
    bad(
      'monitor.host',
      config.monitor.host,
      'must be a loopback address: monitoring has no authentication',
    );
  const ports = new Set([config.client.port, config.cluster.port, config.monitor.port]);
  if (ports.size !== 3)
    bad(
      'ports',
      [config.client.port, config.cluster.port, config.monitor.port],
      'client, cluster and monitor ports must differ',
    );
  for (const [i, route] of config.routes.entries()) {
    const m = routePattern.exec(route);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535)
      bad(`routes[${i}]`, route, 'expected nats-route://host:port');
  }
  for (const field of ['certFile', 'keyFile', 'caFile'] as const) {
    if (!config.tls[field].startsWith('/'))
      bad(`tls.${field}`, config.tls[field], 'must be an absolute path');
  }
  if (!config.pidFile.startsWith('/')) bad('pidFile', config.pidFile, 'must be an absolute path');
  if (!(config.tls.handshakeTimeoutMs >= 100))
    bad('tls.handshakeTimeoutMs', config.tls.handshakeTimeoutMs, 'must be at least 100');
  if (!(config.pingIntervalMs >= 1000))
    bad('pingIntervalMs', config.pingIntervalMs, 'must be at least 1000');
  if (!Number.isInteger(config.maxPingsOut) || config.maxPingsOut < 1)
    bad('maxPingsOut', config.maxPingsOut, 'must be a positive integer');
  if (
    !Number.isInteger(config.maxPayloadBytes) ||
    config.maxPayloadBytes < 1024 ||
    config.maxPayloadBytes > 64 * 1024 * 1024
  ) {
    bad('maxPayloadBytes', config.maxPayloadBytes, 'must be 1 KiB to 64 MiB');
  }
  const seen = new Set<string>();
  for (const [i, user] of config.users.entries()) {
    if (!namePattern.test(user.nodeId))
      bad(`users[${i}].nodeId`, user.nodeId, 'use 1-128 letters, digits, _ or -');
    if (user.clusterId !== config.clusterName)
      bad(
        `users[${i}].clusterId`,
        user.clusterId,
        `must be the cluster name ${config.clusterName}`,
      );
    if (user.role !== 'manager' && user.role !== 'worker')
      bad(`users[${i}].role`, user.role, 'must be manager or worker');
    // A node may hold a worker and a manager identity at once (while its role changes).
    const key = `${user.nodeId}/${user.role}`;
    if (seen.has(key)) bad(`users[${i}].nodeId`, user.nodeId, `appears twice as ${user.role}`);
    seen.add(key);
  }
  if (!config.users.some((u) => u.nodeId === config.serverName && u.role === 'manager')) {
    bad('users', config.serverName, "the server's own node must be a manager user");
  }
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

/**
 * The user name nats-server derives from a client certificate under `verify_and_map`: the
 * subject as an RFC 2253 string (most specific RDN first). Our node certificates carry no
 * e-mail SAN and no DNS SAN that could collide with it (see nats-server's auth order).
 */
export function natsUserName(identity: NodeIdentity): string {
  const ou = identity.role === 'manager' ? managerOu : workerOu;
  return `CN=${identity.nodeId},OU=${ou},O=${identity.clusterId}`;
}

export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /** Lets a node answer a request sent to it without a publish grant on the requester's inbox. */
  allowResponses: boolean;
}

/** Managers may do anything; a worker hears only its own subjects and speaks only for itself. */
export function natsPermissions(identity: NodeIdentity): NatsPermissions {
  if (identity.role === 'manager') {
    return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] }, allowResponses: false };
  }
  return {
    publish: { allow: [subjects.allFromNode(identity.nodeId)] },
    subscribe: {
      allow: [subjects.allToNode(identity.nodeId), subjects.allInboxes(identity.nodeId)],
    },
    allowResponses: true,
  };
}

/** Renders the nats-server configuration file (its own syntax; strings JSON-quoted). */
export function renderNatsConfig(config: NatsServerConfig): string {
  validateNatsServerConfig(config);
  const q = (s: string): string => JSON.stringify(s);
  const list = (items: string[]): string => `[${items.map(q).join(', ')}]`;
  const hostPort = ({ host, port }: HostPort): string =>
    q(isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
  const seconds = (ms: number): string => String(ms / 1000);
  const tls = (indent: string, verify: 'verify_and_map' | 'verify'): string =>
    [
      `${indent}tls {`,
      `${indent}  cert_file: ${q(config.tls.certFile)}`,
      `${indent}  key_file: ${q(config.tls.keyFile)}`,
      `${indent}  ca_file: ${q(config.tls.caFile)}`,
      `${indent}  ${verify}: true`,
      `${indent}  timeout: ${seconds(config.tls.handshakeTimeoutMs)}`,
      `${indent}}`,
    ].join('\n');
  const users = config.users.map((u) => {
    const p = natsPermissions(u);
    const allowResponses = p.allowResponses ? ', allow_responses: true' : '';
    return (
      `    { user: ${q(natsUserName(u))}, permissions: { ` +
      `publish: { allow: ${list(p.publish.allow)} }, subscribe: { allow: ${list(p.subscribe.allow)} }${allowResponses} } }`
    );
  });
  return [
    '# Written by tsswarm; changes are overwritten. Routes change by reload (SIGHUP).',
    `server_name: ${q(config.serverName)}`,
    `listen: ${hostPort(config.client)}`,
    ...(config.clientAdvertise ? [`client_advertise: ${q(config.clientAdvertise)}`] : []),
    `http: ${hostPort(config.monitor)}`,
    `pid_file: ${q(config.pidFile)}`,
    `max_payload: ${config.maxPayloadBytes}`,
    `ping_interval: ${q(`${seconds(config.pingIntervalMs)}s`)}`,
    `ping_max: ${config.maxPingsOut}`,
    tls('', 'verify_and_map'),
    'authorization {',
    '  users = [',
    ...users,
    '  ]',
    '}',
    'cluster {',
    `  name: ${q(config.clusterName)}`,
    `  listen: ${hostPort(config.cluster)}`,
    ...(config.clusterAdvertise ? [`  advertise: ${q(config.clusterAdvertise)}`] : []),
    // Routes connect only between managers: a certificate of the cluster CA is required, and
    // the servers share no route credentials beyond it.
    tls('  ', 'verify'),
    `  routes: ${list(config.routes)}`,
    '}',
    '',
  ].join('\n');
}
