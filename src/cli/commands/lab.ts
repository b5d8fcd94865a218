import { Option, type Command } from 'commander';
import { ErrorCode, invalidArgument, TsswarmError } from '../../api/errors.js';
import {
  createLab,
  defaultLabConfig,
  detectCgroupRoot,
  ExecLabHost,
  formatLabList,
  healNode,
  killNode,
  listLabs,
  nodeEnv,
  partitionNode,
  removeLab,
  startNode,
  type LabContext,
} from '../../lab/index.js';
import { globalOptions } from '../context.js';

/**
 * `tsswarm lab …`: a cluster on this machine, one network namespace and daemon per node, as
 * kind does for Kubernetes. Runs as root, without a daemon of its own.
 */
export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('Run a multi-node cluster on this machine');

  lab
    .command('create')
    .description('Create a lab: a namespace, address and daemon per node, joined as one swarm')
    .argument('<name>', 'lab name (lower-case letters, digits, dashes)')
    .option('--managers <n>', 'manager nodes', '1')
    .option('--workers <n>', 'worker nodes', '2')
    .option('--image <ref...>', 'images to copy into every node besides busybox:latest')
    .option('--subnet <cidr>', 'private IPv4 subnet of the lab (default: a free 172.30.K.0/24)')
    .addOption(
      new Option(
        '--node-command <argv-json>',
        'run this JSON argv per node instead of the daemon ({node} {address} {dataRoot} {execRoot} {socket}); no swarm is formed',
      ).hideHelp(),
    )
    .action(async (name: string, opts: CreateFlags, cmd: Command) => {
      const config = defaultLabConfig([process.execPath, process.argv[1] ?? 'tsswarm']);
      config.managers = count(opts.managers, '--managers', invalidArgument);
      config.workers = count(opts.workers, '--workers', invalidArgument);
      config.images = [...new Set(['busybox:latest', ...(opts.image ?? [])])];
      if (opts.subnet !== undefined) config.subnet = opts.subnet;
      if (opts.nodeCommand !== undefined) {
        config.nodeCommand = {
          argv: parseArgv(opts.nodeCommand, invalidArgument),
          waitForSocket: false,
        };
        config.cluster = 'none';
      }
      // Ctrl-C stops the create at its next step and rolls back, rather than leaving half a lab.
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const state = await createLab({ ...ctxOf(cmd), signal: abort.signal }, name, config).finally(
        () => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        },
      );
      process.stdout.write(`${state.name}\n`);
    });

  lab
    .command('ls')
    .alias('list')
    .description("List every lab's nodes")
    .option('--format <format>', 'table (default) or json')
    .action(async (opts: { format?: string }, cmd: Command) => {
      if (opts.format !== undefined && opts.format !== 'json' && opts.format !== 'table') {
        throw invalidArgument(`--format "${opts.format}": expected table or json`);
      }
      const rows = await listLabs(ctxOf(cmd));
      process.stdout.write(
        opts.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatLabList(rows),
      );
    });

  lab
    .command('env')
    .description(
      'Print the environment that points the CLI at a node (eval "$(tsswarm lab env L N)")',
    )
    .argument('<name>')
    .argument('<node>')
    .action(async (name: string, node: string, _o: unknown, cmd: Command) => {
      process.stdout.write(await nodeEnv(ctxOf(cmd), name, node));
    });

  lab
    .command('kill')
    .description("SIGKILL a node's daemon")
    .argument('<name>')
    .argument('<node>')
    .option('--all', 'the whole node, as in a power cut: also nats-server, monitors, containers')
    .action(async (name: string, node: string, o: { all?: boolean }, cmd: Command) => {
      const ref = await killNode(ctxOf(cmd), name, node, { all: o.all === true });
      process.stdout.write(`${ref.pid}\n`);
    });

  lab
    .command('start')
    .description("Start a node's daemon again")
    .argument('<name>')
    .argument('<node>')
    .action(async (name: string, node: string, _o: unknown, cmd: Command) => {
      const ref = await startNode(ctxOf(cmd), name, node);
      process.stdout.write(`${ref.pid}\n`);
    });

  lab
    .command('partition')
    .description("Cut a node's link to the others (frames dropped at the lab bridge)")
    .argument('<name>')
    .argument('<node>')
    .action(async (name: string, node: string, _o: unknown, cmd: Command) => {
      await partitionNode(ctxOf(cmd), name, node);
    });

  lab
    .command('heal')
    .description("Restore a partitioned node's link")
    .argument('<name>')
    .argument('<node>')
    .action(async (name: string, node: string, _o: unknown, cmd: Command) => {
      await healNode(ctxOf(cmd), name, node);
    });

  lab
    .command('rm')
    .alias('remove')
    .description('Remove a lab: its daemons, namespaces, mounts, cgroups and files')
    .argument('<name...>')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      for (const name of names) {
        if (await removeLab(ctx, name)) process.stdout.write(`${name}\n`);
        else process.stderr.write(`lab ${name}: nothing to remove\n`);
      }
    });
}

interface CreateFlags {
  managers: string;
  workers: string;
  image?: string[];
  subnet?: string;
  nodeCommand?: string;
}

function ctxOf(cmd: Command): LabContext {
  const verb = cmd.name();
  if (verb !== 'ls' && verb !== 'env' && process.getuid?.() !== 0) {
    // Said up front: otherwise the first `ip netns add` fails with a bare EPERM.
    throw new TsswarmError(
      ErrorCode.PermissionDenied,
      `tsswarm lab ${verb} needs root (network namespaces, cgroups, mounts)`,
    );
  }
  return {
    dataRoot: globalOptions(cmd).dataRoot,
    host: new ExecLabHost(),
    cgroups: detectCgroupRoot(),
    progress: (line: string) => void process.stderr.write(`${line}\n`),
  };
}

function count(value: string, flag: string, invalid: (m: string) => Error): number {
  if (!/^[0-9]+$/.test(value))
    throw invalid(`${flag} ${JSON.stringify(value)}: expected a whole number`);
  return Number(value);
}

function parseArgv(json: string, invalid: (m: string) => Error): string[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw invalid(`--node-command: not JSON: ${json}`);
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string')) {
    throw invalid('--node-command: expected a JSON array of strings, e.g. ["sleep","infinity"]');
  }
  return v as string[];
}
