import type { FastifyInstance } from 'fastify';
import type { NodeDescription } from '../../api/index.js';
import type { ManagerPorts } from '../../manager/manager.js';
import type { ApiContext } from '../api-context.js';

/**
 * The two anonymous cluster paths (no client certificate over TCP): a joiner first pins the
 * CA against its token, then asks in.
 */
export function registerClusterRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'rootCaPem' | 'managerOrThrow'>,
): void {
  app.get('/cluster/ca', async () => ({ CaPem: (await ctx.rootCaPem()) ?? '' }));
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
      ctx.managerOrThrow().join({
        token: req.body.Token,
        publicKeyPem: req.body.PublicKeyPem,
        description: req.body.Description,
        addr: req.body.Addr,
        ...(req.body.Ports ? { ports: req.body.Ports } : {}),
      }),
  );
}
