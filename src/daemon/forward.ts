import { request, type RequestOptions } from 'node:https';
import { ErrorCode, TsswarmError } from '../api/index.js';
import type { NodeCredentials } from '../ca/index.js';

/** Header in which a leader says the raft index its write reached (read-your-writes). */
export const indexHeader = 'x-tsswarm-index';

/** Cluster objects whose changes only the leader can commit. */
const clusterPrefixes = [
  '/services',
  '/nodes',
  '/tasks',
  '/networks',
  '/secrets',
  '/configs',
  '/swarm/update',
  '/swarm/unlock',
  '/cluster/join',
];

/**
 * Whether a request changes the cluster's state: those reach the leader wherever they arrive,
 * as swarmkit's raft proxy does; reads are answered from the local replica of the store.
 */
export function isClusterWrite(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  return clusterPrefixes.some((p) => path === p || path.startsWith(`${p}/`));
}

/** The leader could not be reached; `sent` says whether the request may have reached it. */
export class ForwardError extends TsswarmError {
  constructor(
    message: string,
    readonly sent: boolean,
  ) {
    super(ErrorCode.Unavailable, message);
  }
}

export interface ForwardedReply {
  status: number;
  contentType: string | undefined;
  index: number | undefined;
  body: Buffer;
}

/** Sends one API request on to the leader's TLS API with this node's certificate. */
export function forwardToLeader(
  leaderAddr: string,
  creds: NodeCredentials,
  req: { method: string; url: string; body: unknown },
  timeouts: { connectMs: number; totalMs: number },
): Promise<ForwardedReply> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(leaderAddr);
  if (!m?.[1] || !m[2]) {
    return Promise.reject(
      new TsswarmError(ErrorCode.Internal, `leader address ${leaderAddr}: expected host:port`),
    );
  }
  const data = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const options: RequestOptions = {
    host: m[1],
    port: Number(m[2]),
    method: req.method,
    path: req.url,
    ca: creds.caPem,
    cert: creds.certPem,
    key: creds.keyPem,
    // The chain is checked against the cluster CA; node certificates name node ids, not hosts.
    checkServerIdentity: () => undefined,
    agent: false,
    headers: {
      'x-tsswarm-forwarded': '1',
      ...(data
        ? { 'content-type': 'application/json', 'content-length': data.length }
        : { 'content-length': 0 }),
    },
  };
  return new Promise((resolve, reject) => {
    const r = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const idx = Number(res.headers[indexHeader]);
        resolve({
          status: res.statusCode ?? 500,
          contentType: res.headers['content-type'],
          index: Number.isFinite(idx) ? idx : undefined,
          body: Buffer.concat(chunks),
        });
      });
    });
    // A leader cut off by a partition never answers the SYN: give up soon and try the next.
    const connectTimer = setTimeout(
      () => r.destroy(new Error(`no connection within ${timeouts.connectMs} ms`)),
      timeouts.connectMs,
    );
    let sent = false;
    r.on('socket', (sock) => {
      sock.once('secureConnect', () => {
        sent = true;
        clearTimeout(connectTimer);
      });
    });
    r.setTimeout(timeouts.totalMs, () =>
      r.destroy(new Error(`no answer within ${timeouts.totalMs} ms`)),
    );
    r.on('close', () => clearTimeout(connectTimer));
    r.on('error', (err) =>
      reject(
        new ForwardError(`the leader at ${leaderAddr} could not be reached: ${err.message}`, sent),
      ),
    );
    if (data) r.write(data);
    r.end();
  });
}
