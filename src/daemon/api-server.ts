import { chmod, mkdir, rm } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ErrorCode, TsswarmError } from '../api/index.js';
import type { NodeCredentials } from '../ca/tls-options.js';
import type { ApiContext, TlsPeers } from './api-context.js';
import { ForwardError, forwardToLeader, indexHeader, isClusterWrite } from './forward.js';
import { recordRoutes } from './openapi.js';
import { registerClusterRoutes } from './routes/cluster-routes.js';
import { registerConfigRoutes } from './routes/config-routes.js';
import { registerNetworkRoutes } from './routes/network-routes.js';
import { registerNodeRoutes } from './routes/node-routes.js';
import { registerRuntimeRoutes } from './routes/runtime-routes.js';
import { registerSecretRoutes } from './routes/secret-routes.js';
import { registerServiceRoutes } from './routes/service-routes.js';
import { registerSwarmRoutes } from './routes/swarm-routes.js';
import { registerSystemRoutes } from './routes/system-routes.js';
import { registerTaskRoutes } from './routes/task-routes.js';

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
export async function startApiServer(ctx: ApiContext): Promise<FastifyInstance> {
  const app = buildApiApp(ctx, undefined);
  await mkdir(ctx.config.execRoot, { recursive: true, mode: 0o700 });
  await rm(ctx.socketPath, { force: true });
  await app.listen({ path: ctx.socketPath });
  await chmod(ctx.socketPath, 0o600);
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
  ctx: ApiContext,
  tls: TcpApiTls,
  listen: { host: string; port: number },
): Promise<FastifyInstance> {
  const app = buildApiApp(ctx, tls);
  await app.listen({ host: listen.host, port: listen.port });
  return app;
}

/** The TCP API's TLS: this node's credentials, and how to read a caller's certificate. */
export interface TcpApiTls {
  creds: NodeCredentials;
  peers: TlsPeers;
}

function buildApiApp(ctx: ApiContext, tls: TcpApiTls | undefined): FastifyInstance {
  const app = (tls
    ? fastify({
        logger: false,
        bodyLimit: 16 * 1024 * 1024,
        https: {
          ca: tls.creds.caPem,
          cert: tls.creds.certPem,
          key: tls.creds.keyPem,
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
    const { peerIdentity } = tls.peers;
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
    const manager = ctx.currentManager();
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
            await ctx.nodeCredentials(),
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
    const manager = ctx.currentManager();
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
    ctx.log.error({ err }, 'API handler failed');
    void reply.status(500).send({ code: ErrorCode.Internal, message: e.message ?? String(err) });
  });

  registerSystemRoutes(app, ctx);
  registerSwarmRoutes(app, ctx);
  registerClusterRoutes(app, ctx);
  registerServiceRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
  registerNetworkRoutes(app, ctx);
  registerSecretRoutes(app, ctx);
  registerConfigRoutes(app, ctx);
  registerNodeRoutes(app, ctx);
  // This node's containers and images (the CLI's container verbs with -H).
  registerRuntimeRoutes(app, ctx, tls?.peers);

  return app;
}
