import type { FastifyInstance, RouteOptions } from 'fastify';

/** The parts of an OpenAPI 3.0 document this API fills in. */
export interface OpenApiDocument {
  openapi: '3.0.3';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: { Error: Record<string, unknown> } };
}

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Record<string, unknown>;
}

interface OpenApiOperation {
  operationId: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: unknown } } };
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
}

interface RouteSchema {
  params?: JsonObjectSchema;
  querystring?: JsonObjectSchema;
  body?: unknown;
  response?: Record<string, unknown>;
}

interface JsonObjectSchema {
  properties?: Record<string, Record<string, unknown>>;
  required?: readonly string[];
}

interface RecordedRoute {
  method: string;
  url: string;
  schema: RouteSchema | undefined;
}

const errorRef = { $ref: '#/components/schemas/Error' };

/**
 * Records every route added to `app` from now on (fastify's onRoute hook), so the document is
 * generated from the routes themselves and a new route cannot be left out of it. Call before
 * the first route is added; `document()` builds the OpenAPI 3.0 document from what it saw.
 */
export function recordRoutes(app: FastifyInstance): { document(): OpenApiDocument } {
  const routes: RecordedRoute[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods) {
      // fastify adds a HEAD route for every GET; the document lists the GET.
      if (method === 'HEAD' && isAutoHead(routes, r.url)) continue;
      routes.push({ method, url: r.url, schema: r.schema as RouteSchema | undefined });
    }
  });
  return { document: () => openApiDocument(routes) };
}

function isAutoHead(routes: readonly RecordedRoute[], url: string): boolean {
  return routes.some((x) => x.method === 'GET' && x.url === url);
}

/** `/services/:id/logs` → `/services/{id}/logs` and its path parameter names. */
function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

function operationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((p) => p !== '')
    .map((p) => (p.startsWith(':') ? `by-${p.slice(1)}` : p.replace(/^_/, '')));
  return [method.toLowerCase(), ...words].join('-');
}

export function openApiDocument(routes: readonly RecordedRoute[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const r of routes) {
    const { path, params } = openApiPath(r.url);
    const s = r.schema ?? {};
    const parameters: OpenApiParameter[] = params.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: s.params?.properties?.[name] ?? { type: 'string' },
    }));
    const query = s.querystring;
    for (const [name, schema] of Object.entries(query?.properties ?? {})) {
      parameters.push({
        name,
        in: 'query',
        required: query?.required?.includes(name) ?? false,
        schema,
      });
    }
    const responses: OpenApiOperation['responses'] = {};
    for (const [code, schema] of Object.entries(s.response ?? {})) {
      responses[code] = {
        description: code.startsWith('2') ? 'success' : 'error',
        content: { 'application/json': { schema } },
      };
    }
    responses['200'] ??= { description: 'success' };
    responses['default'] = {
      description: 'error: {code, message}; 400 invalid, 403, 404, 409 conflict, 503',
      content: { 'application/json': { schema: errorRef } },
    };
    const op: OpenApiOperation = {
      operationId: operationId(r.method, r.url),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(s.body !== undefined
        ? {
            requestBody: {
              required: r.method !== 'GET',
              content: { 'application/json': { schema: s.body } },
            },
          }
        : {}),
      responses,
    };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'tsswarm daemon API',
      version: '0.1.0',
      description:
        'Docker-shaped paths on <exec-root>/tsswarm.sock and, on managers, TLS TCP :2377. ' +
        'Generated from the route schemas the daemon validates requests with.',
    },
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          properties: { code: { type: 'string' }, message: { type: 'string' } },
          required: ['code', 'message'],
        },
      },
    },
  };
}
