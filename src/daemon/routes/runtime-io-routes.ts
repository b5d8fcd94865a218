import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { conflict, ErrorCode, invalidArgument } from '../../api/errors.js';
import type { ContainerRuntime, CreateOptions, ImageStore } from '../../runtime/index.js';
import type { TlsPeers } from '../api-context.js';
import { ExecSessions, serveExecUpgrades } from '../exec-sessions.js';

export interface RuntimeRouteContext {
  /** The node's runtime, opened on first use; `runtimeName` another OCI runtime than runc. */
  rt(runtimeName?: string): Promise<ContainerRuntime>;
  store(): Promise<ImageStore>;
  /** The onRequest hook that admits only managers over TCP (empty on the unix socket). */
  managersOnly: RouteShorthandOptions;
  /** The TCP API's certificate checks; undefined on the unix socket. */
  peers: TlsPeers | undefined;
}

const ref = { type: 'object', properties: { ref: { type: 'string' } }, required: ['ref'] };
const strings = { type: 'array', items: { type: 'string' } };
/** KEY=VALUE only: a bare KEY is resolved by the CLI from its own environment, never the daemon's. */
const envEntries = { type: 'array', items: { type: 'string', pattern: '^[^=]+=' } };
const tarTypes = ['application/x-tar', 'application/gzip', 'application/octet-stream'];

/** The body of `POST /containers/create`: the CreateOptions the CLI builds (env files read). */
const createBody = {
  type: 'object',
  required: ['image'],
  additionalProperties: false,
  properties: {
    image: { type: 'string', minLength: 1 },
    name: { type: 'string' },
    cmd: strings,
    entrypoint: strings,
    env: envEntries,
    workingDir: { type: 'string' },
    user: { type: 'string' },
    hostname: { type: 'string' },
    memory: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    cpus: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    cpuShares: { type: 'integer' },
    pidsLimit: { type: 'integer' },
    binds: strings,
    mounts: { type: 'array', items: { type: 'object' } },
    tmpfs: strings,
    readOnly: { type: 'boolean' },
    capAdd: strings,
    capDrop: strings,
    init: { type: 'boolean' },
    stopSignal: { type: 'string' },
    stopTimeoutSec: { type: 'integer' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    autoRemove: { type: 'boolean' },
  },
} as const;

/**
 * The verbs of this node's runtime that carry a life cycle or a stream: `create`, `start`,
 * `wait`, `stats`, `exec` (an HTTP upgrade, see ../exec-sessions.ts) and image
 * `load|import|save|tag|history|prune` (tarballs streamed as request or response bodies).
 */
export function registerRuntimeIoRoutes(app: FastifyInstance, ctx: RuntimeRouteContext): void {
  const { rt, store, managersOnly } = ctx;
  const sessions = new ExecSessions();
  serveExecUpgrades(app.server, sessions, async (req) => {
    const peers = ctx.peers;
    if (!peers) return undefined;
    if (peers.hasRole(peers.peerIdentity(req.socket as TLSSocket), 'manager')) return undefined;
    return {
      code: ErrorCode.PermissionDenied,
      message: '/exec needs a manager certificate over TCP',
    };
  });
  // A tarball body reaches its route as the request stream itself: nothing is buffered.
  app.addContentTypeParser(tarTypes, (_req, payload, done) => done(null, payload));

  app.post<{ Body: CreateOptions; Querystring: { runtime?: string } }>(
    '/containers/create',
    {
      ...managersOnly,
      schema: {
        // Runtimes by name only, as docker allows only configured ones: a path here would run
        // any host binary as root.
        querystring: {
          type: 'object',
          properties: { runtime: { type: 'string', enum: ['runc', 'crun'] } },
        },
        body: createBody,
      },
    },
    async (req, reply) => {
      const id = await (await rt(req.query.runtime)).create(req.body);
      return reply.status(201).send({ Id: id });
    },
  );
  app.post<{ Params: { ref: string } }>(
    '/containers/:ref/start',
    { ...managersOnly, schema: { params: ref } },
    async (req) => {
      await (await rt()).start(req.params.ref);
      return {};
    },
  );
  app.post<{ Params: { ref: string } }>(
    '/containers/:ref/wait',
    { ...managersOnly, schema: { params: ref } },
    async (req, reply) => {
      // The caller gone away ends the wait (the response closes with its connection).
      const ac = new AbortController();
      reply.raw.on('close', () => ac.abort());
      return (await rt()).wait(req.params.ref, ac.signal);
    },
  );
  app.get<{ Querystring: { container?: string[] } }>(
    '/containers/stats',
    {
      ...managersOnly,
      schema: { querystring: { type: 'object', properties: { container: strings } } },
    },
    async (req) => (await rt()).stats(req.query.container ?? []),
  );

  app.post<{
    Params: { ref: string };
    Body: {
      Cmd: string[];
      Env?: string[];
      WorkingDir?: string;
      User?: string;
      AttachStdin?: boolean;
    };
  }>(
    '/containers/:ref/exec',
    {
      ...managersOnly,
      schema: {
        params: ref,
        body: {
          type: 'object',
          required: ['Cmd'],
          properties: {
            Cmd: strings,
            Env: envEntries,
            WorkingDir: { type: 'string' },
            User: { type: 'string' },
            AttachStdin: { type: 'boolean' },
          },
        },
      },
    },
    async (req, reply) => {
      const r = await rt();
      const info = await r.inspect(req.params.ref);
      if (!info.state.Running) throw conflict(`container ${info.record.Id} is not running`);
      const b = req.body;
      if (b.Cmd.length === 0) throw invalidArgument('exec needs a command');
      const id = sessions.add(() =>
        r.execPiped(info.record.Id, b.Cmd, {
          env: b.Env ?? [],
          stdin: b.AttachStdin === true,
          ...(b.WorkingDir !== undefined ? { workingDir: b.WorkingDir } : {}),
          ...(b.User !== undefined ? { user: b.User } : {}),
        }),
      );
      return reply.status(201).send({ Id: id });
    },
  );
  // Reached only without the upgrade headers: the streams need the upgraded connection.
  app.post<{ Params: { id: string } }>(
    '/exec/:id/start',
    {
      ...managersOnly,
      schema: { params: { type: 'object', properties: { id: { type: 'string' } } } },
    },
    () => {
      throw invalidArgument(
        'POST /exec/ID/start streams over an upgraded connection: send Connection: Upgrade and Upgrade: tcp',
      );
    },
  );

  app.post('/images/load', managersOnly, async (req) => {
    const images = await (await store()).import(tarBody(req.body), { archiveOnly: true });
    return images.map((i) => ({ id: i.id, ref: i.ref }));
  });
  app.post<{ Querystring: { name?: string; change?: string[] } }>(
    '/images/import',
    {
      ...managersOnly,
      schema: {
        querystring: { type: 'object', properties: { name: { type: 'string' }, change: strings } },
      },
    },
    async (req) => {
      const { name, change } = req.query;
      const images = await (
        await store()
      ).import(tarBody(req.body), {
        ...(name !== undefined ? { name } : {}),
        changes: change ?? [],
      });
      return images.map((i) => ({ id: i.id, ref: i.ref }));
    },
  );
  app.get<{ Querystring: { names?: string[] } }>(
    '/images/get',
    {
      ...managersOnly,
      schema: { querystring: { type: 'object', properties: { names: strings } } },
    },
    async (req, reply) => {
      const s = await store();
      const dir = await mkdtemp(join(s.root, 'tmp', `${process.pid}-save-`));
      try {
        await s.save(req.query.names ?? [], join(dir, 'out.tar'));
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      const file = createReadStream(join(dir, 'out.tar'));
      file.on('close', () => void rm(dir, { recursive: true, force: true }));
      return reply.type('application/x-tar').send(file);
    },
  );
  app.post<{ Params: { ref: string }; Querystring: { target: string } }>(
    '/images/:ref/tag',
    {
      ...managersOnly,
      schema: {
        params: ref,
        querystring: {
          type: 'object',
          properties: { target: { type: 'string' } },
          required: ['target'],
        },
      },
    },
    async (req) => {
      await (await store()).tag(req.params.ref, req.query.target);
      return {};
    },
  );
  app.get<{ Params: { ref: string } }>(
    '/images/:ref/history',
    { ...managersOnly, schema: { params: ref } },
    async (req) => (await store()).history(req.params.ref),
  );
  app.post<{ Querystring: { all?: boolean } }>(
    '/images/prune',
    {
      ...managersOnly,
      schema: { querystring: { type: 'object', properties: { all: { type: 'boolean' } } } },
    },
    async (req) => (await store()).prune({ all: req.query.all === true }),
  );
}

function tarBody(body: unknown): NodeJS.ReadableStream {
  if (
    body === undefined ||
    body === null ||
    typeof (body as NodeJS.ReadableStream).pipe !== 'function'
  ) {
    throw invalidArgument(
      `the request body must be a tarball (content-type ${tarTypes.join(', ')})`,
    );
  }
  return body as NodeJS.ReadableStream;
}
