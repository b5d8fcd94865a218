import type { FastifyInstance } from 'fastify';
import type { NodeSpec } from '../../api/index.js';
import type { ApiContext } from '../api-context.js';
import { objectBody, versionQuery } from './route-schemas.js';

/** `/nodes`: the swarm's nodes (`self`: this one). */
export function registerNodeRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'managerOrThrow' | 'nodeId'>,
): void {
  const control = () => ctx.managerOrThrow().control;

  app.get('/nodes', () => control().listNodes());
  app.get<{ Params: { id: string } }>('/nodes/:id', (req) =>
    control().getNode(req.params.id === 'self' ? (ctx.nodeId() ?? '') : req.params.id),
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
      await control().removeNode(req.params.id, req.query.force === true, ctx.nodeId() ?? '');
      return {};
    },
  );
}
