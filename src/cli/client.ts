import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { ErrorCode, TsswarmError, type WireError } from '../api/errors.js';
import type { GlobalOptions } from './context.js';

export interface ClientTarget {
  socketPath: string;
}

/** Where the daemon listens: -H / TSSWARM_HOST, else `<exec-root>/tsswarm.sock`. */
export function clientTarget(g: GlobalOptions): ClientTarget {
  const host = g.host;
  if (host === undefined) return { socketPath: join(g.execRoot, 'tsswarm.sock') };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  throw new TsswarmError(
    ErrorCode.InvalidArgument,
    `-H ${host}: only unix:///path is supported so far (TCP with TLS is not served yet)`,
  );
}

/** A small JSON client of the daemon's API over its unix socket. */
export class ApiClient {
  constructor(readonly target: ClientTarget) {}

  private raw(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = httpRequest(
        {
          socketPath: this.target.socketPath,
          path,
          method,
          headers: data
            ? { 'content-type': 'application/json', 'content-length': data.length }
            : {},
        },
        resolve,
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(
            new TsswarmError(
              ErrorCode.Unavailable,
              `Cannot connect to the tsswarm daemon at unix://${this.target.socketPath}. Is the daemon running?`,
            ),
          );
        } else reject(err);
      });
      if (data) req.write(data);
      req.end();
    });
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
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

  /** Streams a text response (logs) to `out`. */
  async stream(path: string, out: NodeJS.WritableStream): Promise<void> {
    const res = await this.raw('GET', path);
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw errorFrom(Buffer.concat(chunks).toString('utf8'), res.statusCode ?? 500);
    }
    for await (const c of res) out.write(c as Buffer);
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
