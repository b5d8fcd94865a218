import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';

/** `GET /tasks`, filtered by service, node (`self`: this one) and desired state. */
export function registerTaskRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'managerOrThrow' | 'nodeId'>,
): void {
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
      return ctx.managerOrThrow().control.listTasks({
        ...(q.service !== undefined ? { service: q.service } : {}),
        ...(q.node !== undefined
          ? { node: q.node === 'self' ? (ctx.nodeId() ?? '') : q.node }
          : {}),
        ...(q.desiredState !== undefined ? { desiredState: q.desiredState } : {}),
      });
    },
  );
}
