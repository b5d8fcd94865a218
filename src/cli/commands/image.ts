import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { invalidArgument, notFound, TsswarmError } from '../../api/errors.js';
import { dockerFields } from '../../display/index.js';
import { formatObjects } from '../../display/list-format.js';
import {
  formatHistory,
  formatImageList,
  humanSize,
  ImageStore,
  parseReference,
} from '../../runtime/image/index.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';
import { RemoteImageStore } from '../remote-runtime.js';

/**
 * `tsswarm image …` verbs, plus docker's top-level `images` and `rmi`. They work without a
 * daemon, on the image store of --data-root, as podman's do; with -H/TSSWARM_HOST, on that
 * daemon's node through its API (tarballs streamed both ways).
 */
export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('Manage images');

  image
    .command('import')
    .description(
      'Import an image from a tarball: docker save, OCI layout, or a plain root filesystem (- for stdin)',
    )
    .argument('<file>', 'tarball, optionally gzip-compressed; - reads stdin')
    .argument('[reference]', 'name for a root filesystem import, e.g. app:1.0')
    .option('--name <ref>', 'name for a root filesystem import (same as REFERENCE)')
    .option(
      '-c, --change <instruction>',
      'Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)',
      collect,
      [] as string[],
    )
    .action(
      async (file: string, reference: string | undefined, opts: ImportFlags, cmd: Command) => {
        const store = await nodeStore(cmd);
        const name = opts.name ?? reference;
        const images = await store.import(file, {
          ...(name !== undefined ? { name } : {}),
          changes: opts.change,
        });
        for (const i of images) process.stdout.write(`${i.id}\n`);
      },
    );

  image
    .command('load')
    .description('Load images from a docker save or OCI layout tarball (default stdin)')
    .option('-i, --input <file>', 'read from this file instead of stdin')
    .option('-q, --quiet', 'print nothing')
    .action(async (opts: { input?: string; quiet?: boolean }, cmd: Command) => {
      const store = await nodeStore(cmd);
      const images = await store.import(opts.input ?? '-', { archiveOnly: true });
      if (opts.quiet === true) return;
      for (const i of images) {
        process.stdout.write(
          i.ref === i.id ? `Loaded image ID: ${i.id}\n` : `Loaded image: ${i.ref}\n`,
        );
      }
    });

  const ls = image
    .command('ls')
    .alias('list')
    .description('List images')
    .argument('[reference]', 'only images of this repository[:tag]');
  addListOptions(ls).action(listAction);
  addListOptions(
    program
      .command('images')
      .description('List images (same as image ls)')
      .argument('[reference]', 'only images of this repository[:tag]'),
  ).action(listAction);

  image
    .command('inspect')
    .description('Display detailed information on one or more images, as a JSON array')
    .argument('<image...>')
    .option('-f, --format <format>', 'json (the default), or a template such as {{.Id}}')
    .action(async (refs: string[], opts: { format?: string }, cmd: Command) => {
      const store = await nodeStore(cmd);
      const found: unknown[] = [];
      const missing: string[] = [];
      for (const r of refs) {
        try {
          found.push(await store.inspect(r));
        } catch (err) {
          if ((err as { code?: string }).code !== 'TSS_NOT_FOUND') throw err;
          missing.push(r);
        }
      }
      // Like docker: print what was found, then fail naming what was not.
      process.stdout.write(formatObjects(found, opts.format, dockerFields.Image));
      if (missing.length > 0) throw notFound(missing.map((m) => `No such image: ${m}`).join('\n'));
    });

  const remove = image
    .command('rm')
    .alias('remove')
    .description('Remove one or more images')
    .argument('<image...>');
  addRemoveOptions(remove).action(removeAction);
  addRemoveOptions(
    program
      .command('rmi')
      .description('Remove one or more images (same as image rm)')
      .argument('<image...>'),
  ).action(removeAction);

  image
    .command('tag')
    .description('Create a tag TARGET that refers to SOURCE')
    .argument('<source>', 'image name or id')
    .argument('<target>', 'new name, e.g. app:1.0')
    .action(async (source: string, target: string, _opts: unknown, cmd: Command) => {
      const store = await nodeStore(cmd);
      await store.tag(source, target);
    });

  image
    .command('history')
    .description('Show the history of an image')
    .argument('<image>')
    .option('--no-trunc', 'do not truncate output')
    .option('-q, --quiet', 'only show image ids')
    .option('--format <format>', 'table (default) or json')
    .action(async (ref: string, opts: HistoryFlags, cmd: Command) => {
      const store = await nodeStore(cmd);
      process.stdout.write(
        formatHistory(await store.history(ref), {
          truncate: opts.trunc,
          quiet: opts.quiet === true,
          format: opts.format ?? 'table',
          now: Date.now(),
        }),
      );
    });

  image
    .command('prune')
    .description('Remove unused images: dangling ones, or with -a all that no container uses')
    .option('-a, --all', 'remove all images without containers, not just dangling ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (opts: { all?: boolean; force?: boolean }, cmd: Command) => {
      if (opts.force !== true) {
        const what =
          opts.all === true
            ? 'all images without at least one container associated to them'
            : 'all dangling images';
        if (!process.stdin.isTTY) throw invalidArgument(`this removes ${what}: confirm with -f`);
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(
          `WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `,
        );
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return;
      }
      const store = await nodeStore(cmd);
      const { lines, reclaimedBytes } = await store.prune({ all: opts.all === true });
      if (lines.length > 0) process.stdout.write(`Deleted Images:\n${lines.join('\n')}\n\n`);
      process.stdout.write(`Total reclaimed space: ${humanSize(reclaimedBytes)}\n`);
    });

  image
    .command('save')
    .description('Save images to a tarball in docker save format (docker load reads it)')
    .argument('<image...>')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (refs: string[], opts: { output?: string }, cmd: Command) => {
      if (opts.output === undefined && process.stdout.isTTY) {
        throw invalidArgument('refusing to write a tarball to a terminal: use -o FILE or a pipe');
      }
      if (globalOptions(cmd).host !== undefined) {
        await remoteSave(cmd, refs, opts.output);
        return;
      }
      const store = await openStore(cmd);
      if (opts.output !== undefined) {
        await store.save(refs, opts.output);
        return;
      }
      const dir = await mkdtemp(join(store.root, 'tmp', `${process.pid}-save-`));
      try {
        await store.save(refs, join(dir, 'out.tar'));
        await pipeline(createReadStream(join(dir, 'out.tar')), process.stdout, { end: false });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
}

interface ImportFlags {
  name?: string;
  change: string[];
}

interface ListFlags {
  quiet?: boolean;
  format?: string;
  trunc: boolean;
}

interface HistoryFlags {
  trunc: boolean;
  quiet?: boolean;
  format?: string;
}

function addListOptions(cmd: Command): Command {
  return cmd
    .option('-q, --quiet', 'only show image ids')
    .option(
      '--format <format>',
      'table (default), json (one object per line) or a {{.Field}} template',
    )
    .option('--no-trunc', 'show full image ids');
}

async function listAction(
  reference: string | undefined,
  opts: ListFlags,
  cmd: Command,
): Promise<void> {
  const store = await nodeStore(cmd);
  let rows = await store.list();
  if (reference !== undefined) {
    const hasTag = /:[^/]*$/.test(reference);
    const ref = parseReference(reference);
    rows = rows.filter((r) => r.repository === ref.repository && (!hasTag || r.tag === ref.tag));
  }
  process.stdout.write(
    formatImageList(rows, {
      quiet: opts.quiet === true,
      format: opts.format ?? 'table',
      truncate: opts.trunc,
      now: Date.now(),
    }),
  );
}

function addRemoveOptions(cmd: Command): Command {
  return cmd
    .option(
      '-f, --force',
      'remove all tags of an image named by id, and images that containers use',
    )
    .option(
      '--no-prune',
      'accepted for docker compatibility; unreferenced layers are always removed',
    );
}

async function removeAction(
  refs: string[],
  opts: { force?: boolean },
  cmd: Command,
): Promise<void> {
  const store = await nodeStore(cmd);
  const failures: TsswarmError[] = [];
  for (const r of refs) {
    try {
      const lines = await store.remove(r, { force: opts.force === true });
      for (const l of lines) process.stdout.write(`${l}\n`);
    } catch (err) {
      if (!(err instanceof TsswarmError)) throw err;
      failures.push(err);
    }
  }
  // Like docker: keep going past a failed image, then fail naming every one.
  const [first] = failures;
  if (first !== undefined) {
    throw new TsswarmError(first.code, failures.map((f) => f.message).join('\n'));
  }
}

/**
 * `image save` from the node of -H/TSSWARM_HOST: the tarball streams to the file (written
 * beside it, renamed when complete, as the local save does) or to stdout.
 */
async function remoteSave(cmd: Command, refs: string[], output: string | undefined) {
  const store = new RemoteImageStore(new ApiClient(clientTarget(globalOptions(cmd))));
  if (output === undefined) {
    await store.save(refs, process.stdout, false);
    return;
  }
  const partial = `${output}.${process.pid}.partial`;
  try {
    await store.save(refs, createWriteStream(partial));
    await rename(partial, output);
  } finally {
    await rm(partial, { force: true });
  }
}

/** With -H/TSSWARM_HOST, the images of that daemon's node, through its API. */
async function nodeStore(cmd: Command) {
  const g = globalOptions(cmd);
  if (g.host === undefined) return openStore(cmd);
  return new RemoteImageStore(new ApiClient(clientTarget(g)));
}

async function openStore(cmd: Command) {
  return ImageStore.open(globalOptions(cmd).dataRoot);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
