import type { FastifyInstance } from 'fastify';
import type { ClusterSpec } from '../../api/index.js';
import type { ApiContext } from '../api-context.js';
import { objectBody } from './route-schemas.js';

/** `/swarm`: this node's membership (init, join, leave) and the cluster object. */
export function registerSwarmRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'init' | 'join' | 'leave' | 'managerOrThrow' | 'config'>,
): void {
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
      const id = await ctx.init({
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
      const id = await ctx.join({
        remoteAddrs: req.body.RemoteAddrs,
        token: req.body.JoinToken,
        ...(req.body.AdvertiseAddr ? { advertiseAddr: req.body.AdvertiseAddr } : {}),
      });
      return { NodeID: id };
    },
  );
  app.get('/swarm', () => ctx.managerOrThrow().control.getCluster());
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
      const m = ctx.managerOrThrow();
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
      await ctx.leave(req.query.force === true);
      if (ctx.config.exitOnLeave) {
        // Exit only once the answer is out, or the CLI sees the connection drop.
        reply.raw.once('finish', () => setImmediate(() => process.kill(process.pid, 'SIGTERM')));
      }
      await reply.send({});
    },
  );
}
