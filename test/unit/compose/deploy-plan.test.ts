import { describe, expect, it } from 'vitest';
import type { Service, ServiceSpec } from '../../../src/api/index.js';
import {
  canonicalJson,
  convertStack,
  dependencyOrder,
  formatDiagnostic,
  loadCompose,
  planStackDeploy,
  type DeployAction,
  type Stack,
} from '../../../src/compose/index.js';
import { memoryHost } from './memory-host.js';

function stackOf(yaml: string, name = 'shop'): Stack {
  const file = '/stacks/shop/compose.yml';
  const loaded = loadCompose({ files: [file], env: {}, host: memoryHost({ [file]: yaml }) });
  if (!loaded.config) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const r = convertStack(name, loaded.config, loaded.locations);
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.stack;
}

/** What the cluster holds after a deploy of `actions` (each service as the plan sent it). */
function deployed(actions: DeployAction[], version = 10): Service[] {
  return actions.flatMap((a, i) =>
    a.type === 'create' || a.type === 'update'
      ? [
          {
            ID: `id-${a.name}`,
            Version: { Index: version + i },
            CreatedAt: '2026-01-01T00:00:00Z',
            UpdatedAt: '2026-01-01T00:00:00Z',
            // The API hands back JSON: key order and absent members may differ.
            Spec: JSON.parse(JSON.stringify(a.spec)) as ServiceSpec,
          },
        ]
      : [],
  );
}

const summary = (actions: DeployAction[]): string[] => actions.map((a) => `${a.type} ${a.name}`);

const shop = (webImage: string, workerReplicas: number): string => `
services:
  web:
    image: ${webImage}
    depends_on: [db]
  db:
    image: busybox
  worker:
    image: busybox
    deploy:
      replicas: ${workerReplicas}
`;

describe('planStackDeploy', () => {
  it('creates every service on the first deploy, dependencies first, with docker labels', () => {
    const s = stackOf(shop('busybox:1', 1));
    const actions = planStackDeploy({
      stack: 'shop',
      services: s.services,
      dependsOn: s.dependsOn,
      existing: [],
      prune: false,
    });
    expect(summary(actions)).toEqual(['create shop_db', 'create shop_web', 'create shop_worker']);
    const web = actions[1] as DeployAction & { type: 'create' };
    expect(web.spec.Labels).toEqual({
      'com.docker.stack.namespace': 'shop',
      'com.docker.stack.image': 'busybox:1',
    });
    expect(web.waitFor).toEqual([
      { service: 'shop_db', condition: 'service_started', required: true },
    ]);
  });

  it('on a redeploy updates only the services whose spec changed', () => {
    const first = stackOf(shop('busybox:1', 1));
    const existing = deployed(
      planStackDeploy({
        stack: 'shop',
        services: first.services,
        dependsOn: first.dependsOn,
        existing: [],
        prune: false,
      }),
    );
    const same = planStackDeploy({
      stack: 'shop',
      services: first.services,
      dependsOn: first.dependsOn,
      existing,
      prune: false,
    });
    expect(summary(same)).toEqual([
      'unchanged shop_db',
      'unchanged shop_web',
      'unchanged shop_worker',
    ]);

    const next = stackOf(shop('busybox:2', 3));
    const actions = planStackDeploy({
      stack: 'shop',
      services: next.services,
      dependsOn: next.dependsOn,
      existing,
      prune: false,
    });
    expect(summary(actions)).toEqual([
      'unchanged shop_db',
      'update shop_web',
      'update shop_worker',
    ]);
    const web = actions[1] as DeployAction & { type: 'update' };
    expect(web.id).toBe('id-shop_web');
    expect(web.version).toBe(11);
    expect(web.spec.Labels?.['com.docker.stack.image']).toBe('busybox:2');
  });

  it('keeps a ForceUpdate bumped by hand, so it alone is no change', () => {
    const s = stackOf(shop('busybox:1', 1));
    const existing = deployed(
      planStackDeploy({
        stack: 'shop',
        services: s.services,
        dependsOn: [],
        existing: [],
        prune: false,
      }),
    ).map((svc) => ({
      ...svc,
      Spec: { ...svc.Spec, TaskTemplate: { ...svc.Spec.TaskTemplate, ForceUpdate: 2 } },
    }));
    const actions = planStackDeploy({
      stack: 'shop',
      services: s.services,
      dependsOn: [],
      existing,
      prune: false,
    });
    expect(actions.every((a) => a.type === 'unchanged')).toBe(true);
  });

  it('removes services no longer in the file only with prune, and never another stack', () => {
    const s = stackOf(shop('busybox:1', 1));
    const existing = deployed(
      planStackDeploy({
        stack: 'shop',
        services: s.services,
        dependsOn: [],
        existing: [],
        prune: false,
      }),
    );
    const other: Service = {
      ...(existing[0] as Service),
      ID: 'id-other',
      Spec: {
        ...(existing[0] as Service).Spec,
        Name: 'blog_db',
        Labels: { 'com.docker.stack.namespace': 'blog' },
      },
    };
    const smaller = stackOf('services:\n  db:\n    image: busybox\n');
    const input = {
      stack: 'shop',
      services: smaller.services,
      dependsOn: smaller.dependsOn,
      existing: [...existing, other],
    };
    expect(summary(planStackDeploy({ ...input, prune: false }))).toEqual(['unchanged shop_db']);
    expect(summary(planStackDeploy({ ...input, prune: true }))).toEqual([
      'remove shop_web',
      'remove shop_worker',
      'unchanged shop_db',
    ]);
  });

  it('carries long depends_on conditions and required: false', () => {
    const s = stackOf(`
services:
  app:
    image: busybox
    depends_on:
      migrate: { condition: service_completed_successfully }
      cache: { condition: service_healthy, required: false }
  migrate:
    image: busybox
    deploy: { mode: replicated-job }
  cache:
    image: busybox
`);
    const actions = planStackDeploy({
      stack: 'shop',
      services: s.services,
      dependsOn: s.dependsOn,
      existing: [],
      prune: false,
    });
    expect(summary(actions)).toEqual([
      'create shop_cache',
      'create shop_migrate',
      'create shop_app',
    ]);
    expect((actions[2] as DeployAction & { type: 'create' }).waitFor).toEqual([
      { service: 'shop_cache', condition: 'service_healthy', required: false },
      { service: 'shop_migrate', condition: 'service_completed_successfully', required: true },
    ]);
  });
});

describe('dependencyOrder', () => {
  const edge = (service: string, dependsOn: string) => ({
    service,
    dependsOn,
    condition: 'service_started' as const,
    required: true,
    restart: false,
  });

  it('puts each service after what it depends on, by name otherwise', () => {
    expect(
      dependencyOrder(['a', 'b', 'c', 'd'], [edge('a', 'd'), edge('d', 'c'), edge('b', 'c')]),
    ).toEqual(['c', 'b', 'd', 'a']);
  });

  it('keeps every service even when edges form a cycle (refused earlier by the loader)', () => {
    expect(dependencyOrder(['x', 'y'], [edge('x', 'y'), edge('y', 'x')]).sort()).toEqual([
      'x',
      'y',
    ]);
  });
});

describe('canonicalJson', () => {
  it('ignores key order and undefined members', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: undefined, e: null })).toBe(
      canonicalJson({ e: null, b: [1, { c: 2, d: 1 }] }),
    );
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });
});
