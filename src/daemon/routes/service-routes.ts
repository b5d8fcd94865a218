import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ErrorCode, TsswarmError, type ServiceSpec } from '../../api/index.js';
import { ImageStore } from '../../runtime/index.js';
import type { ApiContext } from '../api-context.js';
import { objectBody, versionQuery } from './route-schemas.js';

/** `/services`: the control API's services, and their logs gathered from every node. */
export function registerServiceRoutes(
  app: FastifyInstance,
  ctx: Pick<ApiContext, 'managerOrThrow' | 'config'>,
): void {
  const control = () => ctx.managerOrThrow().control;

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
        await checkImageKnown(ctx.config.dataRoot, image);
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
      const service = control().getService(req.params.id);
      const tasks = control().listTasks({ service: service.ID });
      const names = new Map(tasks.map((t) => [t.ID, t.Name ?? t.ID]));
      const ac = new AbortController();
      req.raw.on('close', () => ac.abort());
      const { tail, since, follow } = req.query;
      const lines = ctx.managerOrThrow().serviceLogs({
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
}

/**
 * There is no registry: an update to an image this node does not hold would only fail task
 * after task, so it is refused before anything changes.
 */
async function checkImageKnown(dataRoot: string, image: string): Promise<void> {
  const store = await ImageStore.open(dataRoot);
  try {
    await store.resolve(image);
  } catch {
    throw new TsswarmError(
      ErrorCode.InvalidArgument,
      `image ${image} not found on this node: import or load it on the nodes first (there is no registry)`,
    );
  }
}
