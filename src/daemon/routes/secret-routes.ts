import type { FastifyInstance } from 'fastify';
import type { SecretSpec } from '../../api/index.js';
import type { ApiContext } from '../api-context.js';
import { objectBody } from './route-schemas.js';

/** `/secrets`: the cluster's secrets (sealed in the store; their data is never read back). */
export function registerSecretRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'managerOrThrow'>,
): void {
  const files = () => ctx.managerOrThrow().control.files;

  app.get('/secrets', () => files().listSecrets());
  app.post<{ Body: SecretSpec }>('/secrets/create', { schema: { body: objectBody } }, (req) =>
    files().createSecret(req.body),
  );
  app.post<{ Body: { Data: string } }>(
    '/secrets/digest',
    {
      schema: {
        body: { type: 'object', properties: { Data: { type: 'string' } }, required: ['Data'] },
      },
    },
    (req) => files().digestSecret(req.body.Data),
  );
  app.get<{ Params: { id: string } }>('/secrets/:id', (req) => files().getSecret(req.params.id));
  app.delete<{ Params: { id: string } }>('/secrets/:id', async (req) => {
    await files().removeSecret(req.params.id);
    return {};
  });
}
