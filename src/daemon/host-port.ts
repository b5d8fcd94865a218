import { ErrorCode, TsswarmError } from '../api/index.js';

/** `host`, `host:port`, `[v6]:port` → the host. */
export function stripPort(addr: string): string {
  const m = /^\[?([^\]]+?)\]?(?::\d+)?$/.exec(addr);
  return m?.[1] ?? addr;
}

/** `--listen-addr host[:port]`: an empty host listens on every address. */
export function splitHostPort(addr: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(addr);
  const port = m?.[2] !== undefined ? Number(m[2]) : defaultPort;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TsswarmError(
      ErrorCode.InvalidArgument,
      `--listen-addr ${addr}: expected host[:port]`,
    );
  }
  return { host: m[1] || '0.0.0.0', port };
}
