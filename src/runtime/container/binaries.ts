// Where the programs the runtime runs live: the OCI runtime (and its state root) and the monitor.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, TsswarmError } from '../../api/errors.js';
import type { RuntimeConfig } from './runtime-config.js';

export function runtimeBinary(runtime: string): string {
  if (runtime.startsWith('/')) return runtime;
  for (const dir of [
    '/usr/sbin',
    '/usr/bin',
    '/usr/local/sbin',
    '/usr/local/bin',
    '/sbin',
    '/bin',
  ]) {
    const p = join(dir, runtime);
    if (existsSync(p)) return p;
  }
  return join('/usr/sbin', runtime);
}

export function runtimeRoot(execRoot: string, runtime: string): string {
  const name = runtime.startsWith('/') ? (runtime.split('/').pop() ?? 'oci') : runtime;
  return join(execRoot, name);
}

export function monitorBinary(config: RuntimeConfig): string {
  if (config.monitorBinary) return config.monitorBinary;
  return findMonitorBinary();
}

let monitorPathCache: string | undefined;

/** build/tsswarm-shim of the checkout this module runs from (bundle in dist/ or sources). */
export function findMonitorBinary(): string {
  if (monitorPathCache) return monitorPathCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'build', 'tsswarm-shim');
    if (existsSync(p)) return (monitorPathCache = p);
    dir = dirname(dir);
  }
  throw new TsswarmError(
    ErrorCode.Unavailable,
    'container monitor build/tsswarm-shim not found: run npm run build',
  );
}
