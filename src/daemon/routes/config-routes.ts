import type { FastifyInstance } from 'fastify';
import type { ConfigSpec } from '../../api/index.js';
import type { ApiContext } from '../api-context.js';
import { objectBody } from './route-schemas.js';

/** `/configs`: the cluster's configs. */
export function registerConfigRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'managerOrThrow'>,
): void {
  const files = () => ctx.managerOrThrow().control.files;

  app.get('/configs', () => files().listConfigs());
  app.post<{ Body: ConfigSpec }>('/configs/create', { schema: { body: objectBody } }, (req) =>
    files().createConfig(req.body),
  );
  app.get<{ Params: { id: string } }>('/configs/:id', (req) => files().getConfig(req.params.id));
  app.delete<{ Params: { id: string } }>('/configs/:id', async (req) => {
    await files().removeConfig(req.params.id);
    return {};
  });
}
