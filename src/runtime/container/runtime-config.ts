// What a ContainerRuntime is configured with, and the checks across its fields.
import { invalidArgument } from '../../api/errors.js';

export interface RuntimeConfig {
  dataRoot: string;
  execRoot: string;
  /** "runc", "crun" or an absolute path to an OCI runtime. */
  runtime: string;
  /** cgroup under which every container gets its own ("tsswarm" → /tsswarm/<id>). */
  cgroupParent: string;
  /** Path of tsswarm-shim; found next to the build when empty. */
  monitorBinary: string;
}

export function defaultRuntimeConfig(dataRoot: string, execRoot: string): RuntimeConfig {
  return { dataRoot, execRoot, runtime: 'runc', cgroupParent: 'tsswarm', monitorBinary: '' };
}

export function validateRuntimeConfig(c: RuntimeConfig): RuntimeConfig {
  if (!c.dataRoot.startsWith('/'))
    throw invalidArgument(`data root must be absolute: ${c.dataRoot}`);
  if (!c.execRoot.startsWith('/'))
    throw invalidArgument(`exec root must be absolute: ${c.execRoot}`);
  if (!/^[a-zA-Z0-9_.-]+(\/[a-zA-Z0-9_.-]+)*$/.test(c.cgroupParent)) {
    throw invalidArgument(`invalid cgroup parent "${c.cgroupParent}": expected a relative path`);
  }
  if (c.runtime !== 'runc' && c.runtime !== 'crun' && !c.runtime.startsWith('/')) {
    throw invalidArgument(`unknown runtime "${c.runtime}": use runc, crun or an absolute path`);
  }
  return c;
}
