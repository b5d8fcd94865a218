import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/cli/client.js';
import { defaultDaemonConfig, Daemon, startApiServer } from '../../../src/daemon/index.js';
import type { OpenApiDocument } from '../../../src/daemon/openapi.js';

const daemonSrc = join(import.meta.dirname, '../../../src/daemon');

/** Routes as the source declares them (routes/ included): `app.get('/path'`, `app.post<{…}>(\n '/path'`. */
function declaredRoutes(): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = [];
  const files = readdirSync(daemonSrc, { recursive: true, encoding: 'utf8' });
  for (const f of files.filter((x) => x.endsWith('.ts'))) {
    const text = readFileSync(join(daemonSrc, f), 'utf8');
    for (const m of text.matchAll(
      /app\.(get|post|put|delete|patch)\s*(?:<[\s\S]*?>)?\(\s*'([^']+)'/g,
    )) {
      out.push({ method: m[1]!.toUpperCase(), url: m[2]! });
    }
  }
  return out;
}

describe('GET /openapi.json', () => {
  let dir = '';
  let app: FastifyInstance;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsswarm-openapi-'));
    const daemon = new Daemon(
      { ...defaultDaemonConfig(), dataRoot: join(dir, 'data'), execRoot: join(dir, 'exec') },
      pino({ enabled: false }),
    );
    app = await startApiServer(daemon);
    doc = await new ApiClient({ socketPath: daemon.socketPath }).get<OpenApiDocument>(
      '/openapi.json',
    );
  });

  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every route the daemon declares, and only routes it serves', () => {
    const declared = declaredRoutes();
    expect(declared.length).toBeGreaterThan(15);
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => ({
        method: m.toUpperCase(),
        url: path.replace(/\{([^}]+)\}/g, ':$1'),
      })),
    );
    for (const r of declared) expect(listed).toContainEqual(r);
    for (const r of listed)
      expect(app.hasRoute(r as Parameters<typeof app.hasRoute>[0])).toBe(true);
    expect(listed).toHaveLength(declared.length);
  });

  it('carries the route schemas: path and query parameters, bodies, the error shape', () => {
    expect(doc.openapi).toBe('3.0.3');
    const update = doc.paths['/services/{id}/update']?.['post'];
    expect(update?.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'version', in: 'query', required: true, schema: { type: 'integer', minimum: 0 } },
    ]);
    expect(update?.requestBody?.content['application/json'].schema).toEqual({ type: 'object' });
    const init = doc.paths['/swarm/init']?.['post'];
    expect(init?.requestBody?.content['application/json'].schema).toMatchObject({
      properties: { ForceNewCluster: { type: 'boolean' } },
    });
    expect(doc.paths['/_ping']?.['get']?.responses['default']?.content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/Error' } },
    });
    expect(doc.components.schemas.Error).toMatchObject({ required: ['code', 'message'] });
    const ids = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((o) => o.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });
});
