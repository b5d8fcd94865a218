import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { ErrorCode, TsswarmError, invalidArgument, type NodeDescription } from '../api/index.js';
import { checkCaAgainstToken, parseJoinToken } from '../ca/join-token.js';
import type { JoinAnswer, ManagerPorts } from '../manager/manager.js';

export interface JoinCall {
  /** host:port of a manager's TLS API. */
  remote: string;
  token: string;
  publicKeyPem: string;
  description: NodeDescription;
  addr: string;
  ports: ManagerPorts;
  timeoutMs: number;
}

/**
 * The joiner's side, as swarmkit does it: fetch the CA over TLS without trusting anyone, pin it
 * against the digest in the token (an impostor's CA does not match), and only then send the
 * token secret over a connection verified with that CA.
 *
 *   GET /cluster/ca (unverified) ─▶ digest == token's? ─▶ POST /cluster/join (CA-verified TLS)
 */
export async function requestJoin(call: JoinCall): Promise<JoinAnswer> {
  const parsed = parseJoinToken(call.token);
  if (!parsed.ok) throw invalidArgument(`--token: ${parsed.message}`);
  const { host, port } = splitRemote(call.remote);
  const first = await httpsJson<{ CaPem: string }>(
    { host, port, rejectUnauthorized: false },
    'GET',
    '/cluster/ca',
    undefined,
    call,
  );
  const pin = checkCaAgainstToken(call.token, first.body.CaPem);
  if (!pin.ok) {
    throw new TsswarmError(
      ErrorCode.PermissionDenied,
      `refusing to join ${call.remote}: ${pin.message}`,
    );
  }
  // The server's own certificate must come from that CA too, not just the PEM it sent us.
  const ca = new X509Certificate(first.body.CaPem);
  if (!first.peer || !first.peer.verify(ca.publicKey)) {
    throw new TsswarmError(
      ErrorCode.PermissionDenied,
      `refusing to join ${call.remote}: its certificate is not signed by the CA it presents`,
    );
  }
  const answer = await httpsJson<JoinAnswer>(
    {
      host,
      port,
      ca: first.body.CaPem,
      servername: 'swarm-manager',
      rejectUnauthorized: true,
      checkServerIdentity: () => undefined,
    },
    'POST',
    '/cluster/join',
    {
      Token: call.token,
      PublicKeyPem: call.publicKeyPem,
      Description: call.description,
      Addr: call.addr,
      Ports: call.ports,
    },
    call,
  );
  return answer.body;
}

function splitRemote(remote: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(remote);
  const port = m?.[2] !== undefined ? Number(m[2]) : 2377;
  if (!m?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidArgument(`${JSON.stringify(remote)}: expected a manager address HOST[:PORT]`);
  }
  return { host: m[1], port };
}

function httpsJson<T>(
  tls: Record<string, unknown>,
  method: string,
  path: string,
  body: unknown,
  call: JoinCall,
): Promise<{ body: T; peer: X509Certificate | undefined }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        ...tls,
        // A fresh connection per call: a pooled one may come from another trust setting.
        agent: false,
        method,
        path,
        timeout: call.timeoutMs,
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerX509Certificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = parsed as { code?: string; message?: string } | undefined;
            reject(
              new TsswarmError(
                (e?.code as ErrorCode | undefined) ?? ErrorCode.Internal,
                `manager ${call.remote}: ${e?.message ?? text}`,
              ),
            );
            return;
          }
          resolve({ body: parsed as T, peer });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${call.timeoutMs} ms`)));
    req.on('error', (err) =>
      reject(
        err instanceof TsswarmError
          ? err
          : new TsswarmError(
              ErrorCode.Unavailable,
              `cannot reach the manager at ${call.remote}: ${err.message}`,
            ),
      ),
    );
    if (data) req.write(data);
    req.end();
  });
}
