import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../api/errors.js';
import { ContainerRuntime } from '../../runtime/container/container-runtime.js';
import { inspectDocument } from '../../runtime/container/format.js';
import { ImageStore } from '../../runtime/image/index.js';
import type { ApiContext, TlsPeers } from '../api-context.js';
import { registerRuntimeIoRoutes } from './runtime-io-routes.js';

/**
 * The container and image verbs of this node's runtime over the API, Docker-shaped, so that
 * `tsswarm -H … ps|logs|inspect|stop|rm|image ls|inspect|rm` act on the daemon's node as the
 * docker CLI does. The runtime and image store open lazily: a daemon nobody asks pays nothing.
 */
export function registerRuntimeRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'config'>,
  peers: TlsPeers | undefined,
): void {
  // Over TCP, any node of the swarm has a certificate; only managers may act on this node's
  // containers (a worker's certificate must not reach into other nodes).
  const managersOnly = peers
    ? {
        onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
          if (peers.hasRole(peers.peerIdentity(req.raw.socket as TLSSocket), 'manager')) return;
          await reply.status(403).send({
            code: ErrorCode.PermissionDenied,
            message: `${req.url.split('?')[0] ?? ''} needs a manager certificate over TCP`,
          });
          return reply;
        },
      }
    : {};
  let runtime: ContainerRuntime | undefined;
  let images: Promise<ImageStore> | undefined;
  const rt = async (): Promise<ContainerRuntime> => {
    if (runtime) return runtime;
    const cgroupParent = process.env['TSSWARM_CGROUP_PARENT'];
    runtime ??= ContainerRuntime.open({
      dataRoot: ctx.config.dataRoot,
      execRoot: ctx.config.execRoot,
      ...(cgroupParent ? { cgroupParent } : {}),
    });
    return runtime;
  };
  const store = (): Promise<ImageStore> => (images ??= ImageStore.open(ctx.config.dataRoot));
  const ref = { type: 'object', properties: { ref: { type: 'string' } }, required: ['ref'] };
  registerRuntimeIoRoutes(app, {
    // Another OCI runtime (`run --runtime crun`) is one more view of the same container store.
    rt: async (runtimeName) => {
      if (runtimeName === undefined) return rt();
      const cgroupParent = process.env['TSSWARM_CGROUP_PARENT'];
      return ContainerRuntime.open({
        dataRoot: ctx.config.dataRoot,
        execRoot: ctx.config.execRoot,
        runtime: runtimeName,
        ...(cgroupParent ? { cgroupParent } : {}),
      });
    },
    store,
    managersOnly,
    peers,
  });

  app.get<{ Querystring: { all?: boolean; label?: string[] } }>(
    '/containers/json',
    {
      ...managersOnly,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            all: { type: 'boolean' },
            // key=value, repeated
            label: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    async (req) => {
      const labels: Record<string, string> = {};
      for (const l of req.query.label ?? []) {
        const i = l.indexOf('=');
        labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
      }
      return (await rt()).list({ all: req.query.all === true, labels });
    },
  );
  app.get<{ Params: { ref: string } }>(
    '/containers/:ref/json',
    { ...managersOnly, schema: { params: ref } },
    async (req) => {
      const r = await rt();
      const info = await r.inspect(req.params.ref);
      return { info, document: inspectDocument(info, r.paths(info.record.Id)) };
    },
  );
  app.get<{ Params: { ref: string }; Querystring: { follow?: boolean; tail?: number } }>(
    '/containers/:ref/logs',
    {
      ...managersOnly,
      schema: {
        params: ref,
        querystring: {
          type: 'object',
          properties: { follow: { type: 'boolean' }, tail: { type: 'integer', minimum: 0 } },
        },
      },
    },
    async (req, reply) => {
      const r = await rt();
      await r.inspect(req.params.ref); // a 404 before the stream starts
      const ac = new AbortController();
      req.raw.on('close', () => ac.abort());
      const { tail, follow } = req.query;
      const entries = r.logs(req.params.ref, {
        follow: follow === true,
        signal: ac.signal,
        ...(tail !== undefined ? { tail } : {}),
      });
      const ndjson = Readable.from(
        (async function* () {
          for await (const e of entries) yield `${JSON.stringify(e)}\n`;
        })(),
      );
      return reply.type('application/x-ndjson').send(ndjson);
    },
  );
  app.post<{ Params: { ref: string }; Querystring: { t?: number } }>(
    '/containers/:ref/stop',
    {
      ...managersOnly,
      schema: {
        params: ref,
        querystring: { type: 'object', properties: { t: { type: 'integer', minimum: 0 } } },
      },
    },
    async (req) => {
      await (await rt()).stop(req.params.ref, req.query.t);
      return {};
    },
  );
  app.post<{ Params: { ref: string }; Querystring: { signal?: string } }>(
    '/containers/:ref/kill',
    {
      ...managersOnly,
      schema: {
        params: ref,
        querystring: { type: 'object', properties: { signal: { type: 'string' } } },
      },
    },
    async (req) => {
      await (await rt()).kill(req.params.ref, req.query.signal ?? 'SIGKILL');
      return {};
    },
  );
  app.delete<{ Params: { ref: string }; Querystring: { force?: boolean } }>(
    '/containers/:ref',
    {
      ...managersOnly,
      schema: {
        params: ref,
        querystring: { type: 'object', properties: { force: { type: 'boolean' } } },
      },
    },
    async (req) => {
      await (await rt()).remove(req.params.ref, { force: req.query.force === true });
      return {};
    },
  );

  app.get('/images/json', managersOnly, async () => (await store()).list());
  // Image references carry slashes and colons: the client encodes them as one segment.
  app.get<{ Params: { ref: string } }>(
    '/images/:ref/json',
    { ...managersOnly, schema: { params: ref } },
    (req) => store().then((s) => s.inspect(req.params.ref)),
  );
  app.delete<{ Params: { ref: string }; Querystring: { force?: boolean } }>(
    '/images/:ref',
    {
      ...managersOnly,
      schema: {
        params: ref,
        querystring: { type: 'object', properties: { force: { type: 'boolean' } } },
      },
    },
    async (req) => ({
      Lines: await (await store()).remove(req.params.ref, { force: req.query.force === true }),
    }),
  );
}
