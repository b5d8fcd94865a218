import type { ServiceSpec } from '../api/index.js';
import { convertService } from './convert-service.js';
import { dependsOnEdges, type DependsOnEdge } from './convert-depends-on.js';
import { convertNetworks, type StackNetwork } from './convert-networks.js';
import { convertFileObjects, type StackFileObject } from './convert-secrets-configs.js';
import { convertVolumes, type StackVolume } from './convert-volumes.js';
import { Converter } from './converter.js';
import type { Diagnostic } from './diagnostic.js';
import type { ComposeConfig } from './load.js';
import { isObj } from './normalize.js';
import type { LocationIndex } from './source.js';

export interface Stack {
  name: string;
  services: ServiceSpec[];
  networks: StackNetwork[];
  volumes: StackVolume[];
  secrets: StackFileObject[];
  configs: StackFileObject[];
  dependsOn: DependsOnEdge[];
  warnings: Diagnostic[];
}

export type ConvertResult = { ok: true; stack: Stack } | { ok: false; diagnostics: Diagnostic[] };

const stackNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Converts a loaded compose configuration into the objects a stack deploy creates: services
 * named `<stack>_<service>`, networks (with `<stack>_default` when a service uses it), volumes,
 * secrets, configs, and the depends_on graph. What a swarm cannot honour is an error.
 */
export function convertStack(
  stack: string,
  config: ComposeConfig,
  locations: readonly LocationIndex[] = [],
  warnings: readonly Diagnostic[] = [],
): ConvertResult {
  const c = new Converter(stack, config, locations);
  if (!stackNamePattern.test(stack)) {
    return {
      ok: false,
      diagnostics: [
        {
          severity: 'error',
          file: '',
          line: 0,
          column: 0,
          path: '',
          message: `invalid stack name ${JSON.stringify(stack)}`,
        },
      ],
    };
  }
  const services: ServiceSpec[] = [];
  const dependsOn: DependsOnEdge[] = [];
  let usesDefaultNetwork = false;
  for (const [name, raw] of Object.entries(c.section('services')).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const svc = isObj(raw) ? raw : {};
    const r = convertService(c, name, svc);
    if (r.usesDefault) usesDefaultNetwork = true;
    if (r.spec) services.push(r.spec);
    dependsOn.push(...dependsOnEdges(c, name, svc));
  }
  const networks = convertNetworks(c, usesDefaultNetwork);
  const volumes = convertVolumes(c);
  const secrets = convertFileObjects(c, 'secrets');
  const configs = convertFileObjects(c, 'configs');
  if (c.errors.length > 0) return { ok: false, diagnostics: c.errors };
  return {
    ok: true,
    stack: {
      name: stack,
      services,
      networks,
      volumes,
      secrets,
      configs,
      dependsOn,
      warnings: [...warnings],
    },
  };
}
