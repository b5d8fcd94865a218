import { chmod, mkdir, rm } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { NodeCredentials } from '../ca/index.js';
import {
  ErrorCode,
  TsswarmError,
  type ClusterSpec,
  type ConfigSpec,
  type NodeDescription,
  type NetworkSpec,
  type NodeSpec,
  type SecretSpec,
  type ServiceSpec,
} from '../api/index.js';
import type { ManagerPorts } from '../manager/manager.js';
import type { Daemon } from './daemon.js';
import { recordRoutes } from './openapi.js';
import { registerRuntimeRoutes } from './runtime-routes.js';
import { ForwardError, forwardToLeader, indexHeader, isClusterWrite } from './forward.js';

const statusOf: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.InUse]: 409,
  [ErrorCode.OutOfSequence]: 409,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.NotLeader]: 503,
};

const versionQuery = {
  type: 'object',
  properties: { version: { type: 'integer', minimum: 0 } },
  required: ['version'],
} as const;

const objectBody = { type: 'object' } as const;

/** Paths a client without a node certificate may call over TCP: a joiner has none yet. */
const anonymousPaths = new Set(['/cluster/join', '/cluster/ca', '/_ping']);
/** Membership changes of this very node: only its local root user may ask for them. */
const localOnlyPaths = new Set(['/swarm/init', '/swarm/join', '/swarm/leave']);
/** Set on a forwarded request, so a leader that just lost its role does not forward it again. */
const forwardedHeader = 'x-tsswarm-forwarded';

/**
 * The daemon's HTTP API (Docker-shaped paths, JSON bodies, errors as `{code, message}`) on the
 * unix socket `<exec-root>/tsswarm.sock`, mode 0600: only root talks to the local daemon.
 */
export async function startApiServer(daemon: Daemon): Promise<FastifyInstance> {
  const app = await buildApiApp(daemon, undefined);
  await mkdir(daemon.config.execRoot, { recursive: true, mode: 0o700 });
  await rm(daemon.socketPath, { force: true });
  await app.listen({ path: daemon.socketPath });
  await chmod(daemon.socketPath, 0o600);
  return app;
}

/**
 * The same API over TLS on TCP (a manager's `--api-port`): the server presents the node
 * certificate; callers present theirs, signed by the cluster CA. Only the join path accepts a
 * caller without one, and it checks the join token itself.
 *
 *   CLI -H tcp://host:2377 ──mTLS──▶ onRequest (cert check) ──▶ same routes as the unix socket
 */
export async function startTcpApiServer(
  daemon: Daemon,
  creds: NodeCredentials,
  listen: { host: string; port: number },
): Promise<FastifyInstance> {
  const app = await buildApiApp(daemon, creds);
  await app.listen({ host: listen.host, port: listen.port });
  return app;
}

async function buildApiApp(
  daemon: Daemon,
  tls: NodeCredentials | undefined,
): Promise<FastifyInstance> {
  const { default: fastify } = await import('fastify');
  const app = (tls
    ? fastify({
        logger: false,
        bodyLimit: 16 * 1024 * 1024,
        https: {
          ca: tls.caPem,
          cert: tls.certPem,
          key: tls.keyPem,
          // The certificate is checked per request below, so a joiner without one can connect.
          requestCert: true,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2',
        },
      })
    : fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 })) as unknown as FastifyInstance;
  // Before any route: the OpenAPI document is generated from every route the app gets.
  const openapi = recordRoutes(app);
  app.get('/openapi.json', () => openapi.document());

  if (tls) {
    const { peerIdentity } = await import('../ca/index.js');
    app.addHook('onRequest', async (req, reply) => {
      const path = req.url.split('?')[0] ?? '';
      if (localOnlyPaths.has(path)) {
        await reply.status(403).send({
          code: ErrorCode.PermissionDenied,
          message: `${path} is served on the local socket only: run it on the node itself`,
        });
        return reply;
      }
      if (anonymousPaths.has(path)) return;
      const who = peerIdentity(req.raw.socket as TLSSocket);
      if (!who.ok) {
        await reply.status(403).send({
          code: ErrorCode.PermissionDenied,
          message: `${path} needs a node certificate of this swarm (${who.message})`,
        });
        return reply;
      }
    });
  }

  // Writes reach the leader wherever they arrive; the answer waits until this replica has the
  // change, so the caller's next read here sees it.
  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (!isClusterWrite(req.method, path) || req.headers[forwardedHeader] !== undefined) return;
    const manager = daemon.currentManager();
    if (!manager || manager.isLeader()) return;
    // A leader that just died or is cut off: try whoever leads next, for a bounded time.
    const deadline = Date.now() + 15_000;
    let fwd;
    for (;;) {
      if (manager.isLeader()) return;
      const leader = manager.leaderApiAddr();
      if (leader) {
        try {
          fwd = await forwardToLeader(
            leader,
            await daemon.nodeCredentials(),
            { method: req.method, url: req.url, body: req.body },
            { connectMs: 2_000, totalMs: 30_000 },
          );
          break;
        } catch (err) {
          // Once the request may have reached a leader, a retry could apply it twice.
          if (!(err instanceof ForwardError) || err.sent || Date.now() > deadline) throw err;
        }
      } else if (Date.now() > deadline) {
        // No leader known: the handler runs and fails with raft's "not the leader" error.
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (fwd.index !== undefined) await manager.waitApplied(fwd.index, 2_000);
    void reply.status(fwd.status);
    if (fwd.contentType) void reply.header('content-type', fwd.contentType);
    await reply.send(fwd.body);
    return reply;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const manager = daemon.currentManager();
    if (manager?.isLeader() && isClusterWrite(req.method, req.url.split('?')[0] ?? '')) {
      void reply.header(indexHeader, String(manager.store.index));
    }
    return payload;
  });

  app.setErrorHandler((err: unknown, _req, reply: FastifyReply) => {
    if (err instanceof TsswarmError) {
      void reply.status(statusOf[err.code] ?? 500).send(err.toWire());
      return;
    }
    const e = err as { validation?: unknown; message?: string; statusCode?: number };
    if (e.validation !== undefined || (e.statusCode !== undefined && e.statusCode < 500)) {
      void reply
        .status(400)
        .send({ code: ErrorCode.InvalidArgument, message: e.message ?? 'bad request' });
      return;
    }
    daemon.log.error({ err }, 'API handler failed');
    void reply.status(500).send({ code: ErrorCode.Internal, message: e.message ?? String(err) });
  });

  const control = () => daemon.managerOrThrow().control;

  app.get('/_ping', () => 'OK');
  app.get('/info', () => daemon.info());

  // ---- swarm ------------------------------------------------------------------------------
  app.post<{ Body: { AdvertiseAddr?: string; ListenAddr?: string; ForceNewCluster?: boolean } }>(
    '/swarm/init',
    {
      schema: {
        body: {
          type: 'object',
          properties: {
            AdvertiseAddr: { type: 'string' },
            ListenAddr: { type: 'string' },
            ForceNewCluster: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      const body = req.body ?? {};
      const id = await daemon.init({
        ...(body.AdvertiseAddr ? { advertiseAddr: body.AdvertiseAddr } : {}),
        ...(body.ListenAddr ? { listenAddr: body.ListenAddr } : {}),
        ...(body.ForceNewCluster ? { forceNewCluster: true } : {}),
      });
      return { NodeID: id };
    },
  );
  app.post<{
    Body: { RemoteAddrs: string[]; JoinToken: string; AdvertiseAddr?: string };
  }>(
    '/swarm/join',
    {
      schema: {
        body: {
          type: 'object',
          properties: {
            RemoteAddrs: { type: 'array', items: { type: 'string' }, minItems: 1 },
            JoinToken: { type: 'string' },
            AdvertiseAddr: { type: 'string' },
          },
          required: ['RemoteAddrs', 'JoinToken'],
        },
      },
    },
    async (req) => {
      const id = await daemon.join({
        remoteAddrs: req.body.RemoteAddrs,
        token: req.body.JoinToken,
        ...(req.body.AdvertiseAddr ? { advertiseAddr: req.body.AdvertiseAddr } : {}),
      });
      return { NodeID: id };
    },
  );
  // The two anonymous cluster paths: a joiner first pins the CA against its token, then asks in.
  app.get('/cluster/ca', async () => ({ CaPem: (await daemon.rootCaPem()) ?? '' }));
  app.post<{
    Body: {
      Token: string;
      PublicKeyPem: string;
      Description: NodeDescription;
      Addr: string;
      Ports?: ManagerPorts;
    };
  }>(
    '/cluster/join',
    {
      schema: {
        body: {
          type: 'object',
          properties: {
            Token: { type: 'string' },
            PublicKeyPem: { type: 'string' },
            Description: {
              type: 'object',
              required: ['Hostname', 'Platform', 'Resources', 'Engine'],
            },
            Addr: { type: 'string' },
            Ports: {
              type: 'object',
              properties: Object.fromEntries(
                ['api', 'raft', 'nats', 'natsCluster'].map((k) => [
                  k,
                  { type: 'integer', minimum: 1, maximum: 65535 },
                ]),
              ),
              required: ['api', 'raft', 'nats', 'natsCluster'],
            },
          },
          required: ['Token', 'PublicKeyPem', 'Description', 'Addr'],
        },
      },
    },
    (req) =>
      daemon.managerOrThrow().join({
        token: req.body.Token,
        publicKeyPem: req.body.PublicKeyPem,
        description: req.body.Description,
        addr: req.body.Addr,
        ...(req.body.Ports ? { ports: req.body.Ports } : {}),
      }),
  );
  app.get('/swarm', () => control().getCluster());
  app.post<{
    Querystring: { version: number; rotateWorkerToken?: boolean; rotateManagerToken?: boolean };
    Body: ClusterSpec;
  }>(
    '/swarm/update',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            version: { type: 'integer' },
            rotateWorkerToken: { type: 'boolean' },
            rotateManagerToken: { type: 'boolean' },
          },
          required: ['version'],
        },
        body: objectBody,
      },
    },
    async (req) => {
      const m = daemon.managerOrThrow();
      await m.control.updateCluster(req.query.version, req.body, {
        worker: req.query.rotateWorkerToken === true,
        manager: req.query.rotateManagerToken === true,
      });
      m.setHeartbeatPeriod(Math.floor(req.body.Dispatcher.HeartbeatPeriod / 1e6));
      return {};
    },
  );
  app.post<{ Querystring: { force?: boolean } }>(
    '/swarm/leave',
    { schema: { querystring: { type: 'object', properties: { force: { type: 'boolean' } } } } },
    async (req, reply) => {
      await daemon.leave(req.query.force === true);
      if (daemon.config.exitOnLeave) {
        // Exit only once the answer is out, or the CLI sees the connection drop.
        reply.raw.once('finish', () => setImmediate(() => process.kill(process.pid, 'SIGTERM')));
      }
      await reply.send({});
    },
  );

  // ---- services ---------------------------------------------------------------------------
  app.get<{ Querystring: { status?: boolean } }>(
    '/services',
    { schema: { querystring: { type: 'object', properties: { status: { type: 'boolean' } } } } },
    (req) => control().listServices({ status: req.query.status === true }),
  );
  app.post<{ Body: ServiceSpec }>('/services/create', { schema: { body: objectBody } }, (req) =>
    control().createService(req.body),
  );
  app.get<{ Params: { id: string }; Querystring: { status?: boolean } }>(
    '/services/:id',
    { schema: { querystring: { type: 'object', properties: { status: { type: 'boolean' } } } } },
    (req) => control().getService(req.params.id, { status: req.query.status === true }),
  );
  app.post<{ Params: { id: string }; Querystring: { version: number }; Body: ServiceSpec }>(
    '/services/:id/update',
    { schema: { querystring: versionQuery, body: objectBody } },
    async (req) => {
      const image = (req.body as Partial<ServiceSpec>).TaskTemplate?.ContainerSpec?.Image;
      if (
        image &&
        image !== control().getService(req.params.id).Spec.TaskTemplate.ContainerSpec.Image
      ) {
        await checkImageKnown(daemon, image);
      }
      await control().updateService(req.params.id, req.query.version, req.body);
      return { Warnings: [] };
    },
  );
  app.post<{ Params: { id: string }; Querystring: { version: number } }>(
    '/services/:id/rollback',
    { schema: { querystring: versionQuery } },
    async (req) => {
      await control().rollbackService(req.params.id, req.query.version);
      return { Warnings: [] };
    },
  );
  app.delete<{ Params: { id: string } }>('/services/:id', async (req) => {
    await control().removeService(req.params.id);
    return {};
  });
  app.get<{
    Params: { id: string };
    Querystring: { tail?: number; follow?: boolean; since?: number };
  }>(
    '/services/:id/logs',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            tail: { type: 'integer', minimum: 0 },
            follow: { type: 'boolean' },
            // ms since the epoch
            since: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    async (req, reply) => {
      // One JSON object per line: the node's line with the task's docker name (`web.1.<id>`).
      const { Readable } = await import('node:stream');
      const service = control().getService(req.params.id);
      const tasks = control().listTasks({ service: service.ID });
      const names = new Map(tasks.map((t) => [t.ID, t.Name ?? t.ID]));
      const ac = new AbortController();
      req.raw.on('close', () => ac.abort());
      const { tail, since, follow } = req.query;
      const lines = daemon.managerOrThrow().serviceLogs({
        serviceId: service.ID,
        tasks,
        ...(tail !== undefined ? { tail } : {}),
        ...(since !== undefined ? { sinceMs: since } : {}),
        follow: follow === true,
        signal: ac.signal,
      });
      const ndjson = Readable.from(
        (async function* () {
          for await (const l of lines) {
            yield `${JSON.stringify({ ...l, task: names.get(l.taskId) ?? l.taskId })}\n`;
          }
        })(),
      );
      return reply.type('application/x-ndjson').send(ndjson);
    },
  );

  // ---- tasks ------------------------------------------------------------------------------
  app.get<{ Querystring: { service?: string; node?: string; desiredState?: string } }>(
    '/tasks',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            service: { type: 'string' },
            node: { type: 'string' },
            desiredState: {
              type: 'string',
              enum: ['running', 'shutdown', 'accepted', 'remove', 'ready', 'complete'],
            },
          },
        },
      },
    },
    (req) => {
      const q = req.query;
      return control().listTasks({
        ...(q.service !== undefined ? { service: q.service } : {}),
        ...(q.node !== undefined
          ? { node: q.node === 'self' ? (daemon.nodeId() ?? '') : q.node }
          : {}),
        ...(q.desiredState !== undefined ? { desiredState: q.desiredState } : {}),
      });
    },
  );

  // ---- networks ---------------------------------------------------------------------------
  app.get('/networks', () => control().listNetworks());
  app.post<{ Body: NetworkSpec }>('/networks/create', { schema: { body: objectBody } }, (req) =>
    control().createNetwork(req.body),
  );
  app.get<{ Params: { id: string } }>('/networks/:id', (req) =>
    control().getNetwork(req.params.id),
  );
  app.delete<{ Params: { id: string } }>('/networks/:id', async (req) => {
    await control().removeNetwork(req.params.id);
    return {};
  });
  // ---- secrets and configs ----------------------------------------------------------------
  app.get('/secrets', () => control().files.listSecrets());
  app.post<{ Body: SecretSpec }>('/secrets/create', { schema: { body: objectBody } }, (req) =>
    control().files.createSecret(req.body),
  );
  app.post<{ Body: { Data: string } }>(
    '/secrets/digest',
    {
      schema: {
        body: { type: 'object', properties: { Data: { type: 'string' } }, required: ['Data'] },
      },
    },
    (req) => control().files.digestSecret(req.body.Data),
  );
  app.get<{ Params: { id: string } }>('/secrets/:id', (req) =>
    control().files.getSecret(req.params.id),
  );
  app.delete<{ Params: { id: string } }>('/secrets/:id', async (req) => {
    await control().files.removeSecret(req.params.id);
    return {};
  });
  app.get('/configs', () => control().files.listConfigs());
  app.post<{ Body: ConfigSpec }>('/configs/create', { schema: { body: objectBody } }, (req) =>
    control().files.createConfig(req.body),
  );
  app.get<{ Params: { id: string } }>('/configs/:id', (req) =>
    control().files.getConfig(req.params.id),
  );
  app.delete<{ Params: { id: string } }>('/configs/:id', async (req) => {
    await control().files.removeConfig(req.params.id);
    return {};
  });

  // ---- nodes ------------------------------------------------------------------------------
  app.get('/nodes', () => control().listNodes());
  app.get<{ Params: { id: string } }>('/nodes/:id', (req) =>
    control().getNode(req.params.id === 'self' ? (daemon.nodeId() ?? '') : req.params.id),
  );
  app.post<{ Params: { id: string }; Querystring: { version: number }; Body: NodeSpec }>(
    '/nodes/:id/update',
    { schema: { querystring: versionQuery, body: objectBody } },
    async (req) => {
      await control().updateNode(req.params.id, req.query.version, req.body);
      return {};
    },
  );
  app.delete<{ Params: { id: string }; Querystring: { force?: boolean } }>(
    '/nodes/:id',
    { schema: { querystring: { type: 'object', properties: { force: { type: 'boolean' } } } } },
    async (req) => {
      await control().removeNode(req.params.id, req.query.force === true, daemon.nodeId() ?? '');
      return {};
    },
  );

  // ---- this node's containers and images (the CLI's container verbs with -H) ---------------
  registerRuntimeRoutes(app, daemon, tls !== undefined);

  return app;
}

/**
 * There is no registry: an update to an image this node does not hold would only fail task
 * after task, so it is refused before anything changes.
 */
async function checkImageKnown(daemon: Daemon, image: string): Promise<void> {
  const { ImageStore } = await import('../runtime/index.js');
  const store = await ImageStore.open(daemon.config.dataRoot);
  try {
    await store.resolve(image);
  } catch {
    throw new TsswarmError(
      ErrorCode.InvalidArgument,
      `image ${image} not found on this node: import or load it on the nodes first (there is no registry)`,
    );
  }
}
