import type { FastifyInstance } from 'fastify';
import type { NetworkSpec } from '../../api/index.js';
import type { ApiContext } from '../api-context.js';
import { objectBody } from './route-schemas.js';

/** `/networks`: the cluster's overlay networks. */
export function registerNetworkRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'managerOrThrow'>,
): void {
  const control = () => ctx.managerOrThrow().control;

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
}
