import { readFile } from 'node:fs/promises';
import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Duplex } from 'node:stream';
import { ErrorCode, TsswarmError, type WireError } from '../api/errors.js';
import type { GlobalOptions } from './context.js';

/** The local unix socket, or a manager's TLS API authenticated with this node's certificate. */
export type ClientTarget =
  { socketPath: string } | { host: string; port: number; dataRoot: string };

/** Where the daemon listens: -H / TSSWARM_HOST, else `<exec-root>/tsswarm.sock`. */
export function clientTarget(g: GlobalOptions): ClientTarget {
  const host = g.host;
  if (host === undefined) return { socketPath: join(g.execRoot, 'tsswarm.sock') };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('tcp://')) {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(host.slice('tcp://'.length));
    const port = m?.[2] !== undefined ? Number(m[2]) : 2377;
    if (m?.[1] && Number.isInteger(port) && port >= 1 && port <= 65535) {
      return { host: m[1], port, dataRoot: g.dataRoot };
    }
  }
  throw new TsswarmError(
    ErrorCode.InvalidArgument,
    `-H ${host}: expected unix:///path or tcp://host[:port]`,
  );
}

function describeTarget(t: ClientTarget): string {
  return 'socketPath' in t ? `unix://${t.socketPath}` : `tcp://${t.host}:${t.port}`;
}

/** TLS options from the node certificate in the data root; read once per client. */
async function tlsRequestOptions(dataRoot: string): Promise<RequestOptions> {
  // Only tcp:// needs it. Measured on the bundle (median of 20 runs): imported statically,
  // x509 and the CA cost every verb that talks to a daemon ~65 ms (`service ls` 129 → 196 ms).
  const ca = await import('../ca/index.js');
  const paths = ca.certificatePaths(dataRoot);
  let creds;
  try {
    const [caPem, certPem, keyPem] = await Promise.all(
      [paths.caCert, paths.nodeCert, paths.nodeKey].map((p) => readFile(p, 'utf8')),
    );
    creds = { caPem: caPem ?? '', certPem: certPem ?? '', keyPem: keyPem ?? '' };
  } catch (err) {
    throw new TsswarmError(
      ErrorCode.InvalidArgument,
      `-H tcp://: this node has no swarm certificates under ${dataRoot} (${(err as Error).message}); join the swarm first or pass --data-root`,
    );
  }
  return ca.mutualTlsClientOptions(creds, 'manager') as RequestOptions;
}

/** A small JSON client of the daemon's API over its unix socket. */
export class ApiClient {
  private tls: Promise<RequestOptions> | undefined;

  constructor(readonly target: ClientTarget) {}

  private async request(
    method: string,
    path: string,
    headers: Record<string, string | number>,
  ): Promise<ClientRequest> {
    const t = this.target;
    const where: RequestOptions =
      'socketPath' in t
        ? { socketPath: t.socketPath }
        : { ...(await (this.tls ??= tlsRequestOptions(t.dataRoot))), host: t.host, port: t.port };
    const options: RequestOptions = { ...where, path, method, headers };
    return 'socketPath' in t ? httpRequest(options) : httpsRequest(options);
  }

  private connectError(err: NodeJS.ErrnoException): Error {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      return new TsswarmError(
        ErrorCode.Unavailable,
        `Cannot connect to the tsswarm daemon at ${describeTarget(this.target)}. Is the daemon running?`,
      );
    }
    return err;
  }

  private async raw(
    method: string,
    path: string,
    body?: unknown,
    stream?: { body: NodeJS.ReadableStream; contentType: string },
  ): Promise<IncomingMessage> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = await this.request(
      method,
      path,
      stream
        ? { 'content-type': stream.contentType, 'transfer-encoding': 'chunked' }
        : data
          ? { 'content-type': 'application/json', 'content-length': data.length }
          : {},
    );
    return new Promise((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      if (stream) {
        // An early answer (an error) stops the upload; the answer is what the caller reads.
        stream.body.on('error', (err) =>
          req.destroy(
            new TsswarmError(ErrorCode.Internal, `reading what is sent: ${err.message}`, {
              cause: err,
            }),
          ),
        );
        stream.body.pipe(req);
        return;
      }
      if (data) req.write(data);
      req.end();
    });
  }

  /**
   * An HTTP upgrade (`Connection: Upgrade`, `Upgrade: tcp`): the raw connection once the
   * daemon answered 101, with any bytes that came with the answer; a refusal as its error.
   */
  async upgrade(path: string): Promise<{ socket: Duplex; head: Buffer }> {
    const req = await this.request('POST', path, {
      connection: 'Upgrade',
      upgrade: 'tcp',
      'content-length': 0,
    });
    return new Promise((resolve, reject) => {
      req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          reject(errorFrom(Buffer.concat(chunks).toString('utf8'), res.statusCode ?? 500)),
        );
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      req.end();
    });
  }

  /** Sends `body` as the request body, streamed; answers as `call`. */
  async upload<T>(path: string, body: NodeJS.ReadableStream, contentType: string): Promise<T> {
    return this.answer<T>(await this.raw('POST', path, undefined, { body, contentType }));
  }

  /** The response body of a GET as a stream, after checking the status. */
  async download(path: string): Promise<IncomingMessage> {
    const res = await this.raw('GET', path);
    if ((res.statusCode ?? 500) >= 400) await this.answer(res);
    return res;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.answer<T>(await this.raw(method, path, body));
  }

  private async answer<T>(res: IncomingMessage): Promise<T> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if ((res.statusCode ?? 500) >= 400) throw errorFrom(text, res.statusCode ?? 500);
    const type = String(res.headers['content-type'] ?? '');
    return (type.includes('json') ? JSON.parse(text) : text) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  /** Reads an NDJSON response (logs) one object at a time, as the lines arrive. */
  async *ndjson<T>(path: string): AsyncGenerator<T> {
    const res = await this.raw('GET', path);
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw errorFrom(Buffer.concat(chunks).toString('utf8'), res.statusCode ?? 500);
    }
    // A character split across two chunks must not become two replacement characters.
    const utf8 = new StringDecoder('utf8');
    let buf = '';
    for await (const c of res) {
      buf += utf8.write(c as Buffer);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line !== '') yield JSON.parse(line) as T;
      }
    }
  }

  /** True when a daemon answers on the socket. */
  async ping(): Promise<boolean> {
    try {
      return (await this.get<string>('/_ping')) === 'OK';
    } catch {
      return false;
    }
  }
}

function errorFrom(text: string, status: number): TsswarmError {
  try {
    const e = JSON.parse(text) as Partial<WireError>;
    if (typeof e.code === 'string' && typeof e.message === 'string') {
      return new TsswarmError(e.code, e.message);
    }
  } catch {
    // not JSON
  }
  return new TsswarmError(ErrorCode.Internal, `daemon answered ${status}: ${text}`);
}
