// The dependency rules of src/ (see ../shared/DESIGN.md §2), checked by eslint on every
// import, export-from and dynamic import. A folder of src/ may import its own files and the
// folders listed for it here; nothing else. Where a rule bends, the reason stands beside it.
import path from 'node:path';

/** folder of src/ → folders it may import (besides itself). */
export const allowedImports = {
  // Shared types, subjects, error codes and validation: the bottom of the graph.
  api: [],
  // Presentation (Go templates, text tables, --format, human units); errors from api.
  display: ['api'],
  // Node identity (CA, certificates, join tokens): used by cli, daemon, manager and worker.
  ca: ['api'],
  scheduler: ['api'],
  compose: ['api'],
  'overlay-net': ['api'],
  // Bends: the runtime's own listings (`ps`, `images`, daemonless) render with display.
  runtime: ['api', 'display'],
  // manager and worker never import each other.
  manager: ['api', 'ca', 'scheduler', 'compose'],
  worker: ['api', 'ca', 'runtime', 'overlay-net'],
  // The daemon is the composition root of a node: it wires manager, worker and runtime.
  daemon: ['api', 'ca', 'display', 'manager', 'worker', 'runtime', 'overlay-net'],
  // The lab starts real daemons (their config) and imports images into each node's store.
  lab: ['api', 'display', 'runtime', { folder: 'daemon', files: ['daemon-config.ts'] }],
  cli: [
    'api',
    'ca',
    'display',
    'compose',
    // Bends: the runtime verbs work without a daemon, as Podman's do.
    'runtime',
    // Bends: `tsswarm daemon` runs the daemon in this process, and `swarm init` writes its
    // config; every other verb reaches a daemon only through cli/client.ts.
    { folder: 'daemon', files: ['run-daemon.ts', 'daemon-config.ts'] },
    // Bends: the lab is a local tool run by the CLI itself, not a daemon's API.
    'lab',
  ],
};

function folderOf(srcRoot, file) {
  const rel = path.relative(srcRoot, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const [top, ...rest] = rel.split(path.sep);
  return rest.length === 0 ? undefined : { folder: top, rest: rest.join('/') };
}

function check(rules, from, to) {
  if (from.folder === to.folder) return true;
  const allowed = rules[from.folder];
  if (!allowed) return false;
  return allowed.some((a) =>
    typeof a === 'string'
      ? a === to.folder
      : a.folder === to.folder && a.files.includes(to.rest.replace(/\.js$/, '.ts')),
  );
}

export const boundariesPlugin = {
  rules: {
    'src-boundaries': {
      meta: {
        type: 'problem',
        docs: { description: 'src/ folders import only what scripts/lint/boundaries.mjs allows' },
        schema: [
          {
            type: 'object',
            properties: { srcRoot: { type: 'string' } },
            additionalProperties: false,
          },
        ],
        messages: {
          forbidden:
            "src/{{from}} may not import src/{{to}} ('{{spec}}'): allowed are {{allowed}} (scripts/lint/boundaries.mjs)",
          unknown:
            'src/{{from}} is a folder with no dependency rule: add it to scripts/lint/boundaries.mjs',
        },
      },
      create(context) {
        const srcRoot = context.options[0]?.srcRoot ?? path.join(context.cwd, 'src');
        const from = folderOf(srcRoot, context.filename);
        if (!from) return {};
        if (!(from.folder in allowedImports)) {
          return {
            Program(node) {
              context.report({ node, messageId: 'unknown', data: { from: from.folder } });
            },
          };
        }
        const visit = (node, source) => {
          if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
          const spec = source.value;
          if (!spec.startsWith('.')) return;
          const to = folderOf(srcRoot, path.resolve(path.dirname(context.filename), spec));
          if (!to || check(allowedImports, from, to)) return;
          const allowed =
            allowedImports[from.folder]
              .map((a) => (typeof a === 'string' ? a : `${a.folder}/{${a.files.join(',')}}`))
              .join(', ') || 'none';
          context.report({
            node,
            messageId: 'forbidden',
            data: { from: from.folder, to: to.folder, spec, allowed },
          });
        };
        return {
          ImportDeclaration: (n) => visit(n, n.source),
          ExportNamedDeclaration: (n) => visit(n, n.source),
          ExportAllDeclaration: (n) => visit(n, n.source),
          ImportExpression: (n) => visit(n, n.source),
        };
      },
    },
  },
};
