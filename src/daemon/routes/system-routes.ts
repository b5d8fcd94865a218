import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';

/** `GET /_ping` (the CLI waits for it after starting a daemon) and `GET /info`. */
export function registerSystemRoutes(app: FastifyInstance, ctx: Pick<ApiContext, 'info'>): void {
  app.get('/_ping', () => 'OK');
  app.get('/info', () => ctx.info());
}
