import type { Command } from 'commander';
import { invalidArgument } from '../../api/index.js';
import { dockerFields } from '../../display/index.js';
import { formatObjects, formatRows } from '../../display/list-format.js';
import { ContainerRuntime } from '../../runtime/container/container-runtime.js';
import { globalOptions } from '../context.js';

// Volumes belong to a node, like containers: these verbs work on the local data root, with or
// without a daemon, and see the volumes the node's tasks created.
async function runtime(cmd: Command) {
  const g = globalOptions(cmd);
  return ContainerRuntime.open({ dataRoot: g.dataRoot, execRoot: g.execRoot });
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerVolumeCommands(program: Command): void {
  const volume = program.command('volume').description('manage volumes of this node');

  volume
    .command('create')
    .description('create a volume (an existing one of that name is returned as it is)')
    .option('-d, --driver <driver>', 'volume driver (only local)', 'local')
    .option('--label <key=value>', 'set metadata on the volume', collect, [])
    .argument('[name]')
    .action(
      async (name: string | undefined, o: { driver: string; label: string[] }, cmd: Command) => {
        const [{ invalidArgument }, { parseLabels }] = await Promise.all([
          import('../../api/errors.js'),
          import('../../runtime/container/parse.js'),
        ]);
        if (o.driver !== 'local') {
          throw invalidArgument(`volume driver "${o.driver}" is not supported: use local`);
        }
        const labels = parseLabels(o.label);
        const v = (await runtime(cmd)).createVolume(name, labels);
        process.stdout.write(`${v.Name}\n`);
      },
    );

  volume
    .command('ls')
    .alias('list')
    .description('list volumes')
    .option('-q, --quiet', 'only print volume names')
    .option('--format <format>', 'table, json, or a Go template such as {{.Name}}')
    .option('-f, --filter <filter>', 'filter: name=…, label=KEY[=VALUE]', collect, [])
    .action(async (o: { quiet?: boolean; format?: string; filter: string[] }, cmd: Command) => {
      let list = (await runtime(cmd)).listVolumes();
      for (const f of o.filter) {
        const label = /^label=([^=]+)(?:=(.*))?$/.exec(f);
        const name = /^name=(.+)$/.exec(f);
        if (label?.[1]) {
          const [k, v] = [label[1], label[2]];
          list = list.filter((x) => k in x.Labels && (v === undefined || x.Labels[k] === v));
        } else if (name?.[1]) {
          const n = name[1];
          list = list.filter((x) => x.Name.includes(n));
        } else {
          throw invalidArgument(`invalid filter "${f}": use name=… or label=KEY[=VALUE]`);
        }
      }
      if (o.quiet) {
        for (const v of list) process.stdout.write(`${v.Name}\n`);
        return;
      }
      const rows = list.map((v) => ({
        Driver: v.Driver,
        Labels: Object.entries(v.Labels)
          .map(([k, val]) => `${k}=${val}`)
          .join(','),
        Mountpoint: v.Mountpoint,
        Name: v.Name,
        Scope: v.Scope,
      }));
      process.stdout.write(
        formatRows(rows, o.format, [
          { header: 'DRIVER', field: 'Driver' },
          { header: 'VOLUME NAME', field: 'Name' },
        ]),
      );
    });

  volume
    .command('inspect')
    .description('show volumes as JSON')
    .argument('<volume...>')
    .option('-f, --format <format>', 'json (default), or a Go template such as {{.Mountpoint}}')
    .action(async (names: string[], o: { format?: string }, cmd: Command) => {
      const rt = await runtime(cmd);
      const out = [];
      let failed: unknown;
      for (const n of names) {
        try {
          out.push(rt.inspectVolume(n));
        } catch (err) {
          if (failed !== undefined) process.stderr.write(`Error: ${(failed as Error).message}\n`);
          failed = err;
        }
      }
      process.stdout.write(formatObjects(out, o.format, dockerFields.Volume));
      if (failed !== undefined) throw failed;
    });

  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes (refused while a container uses one)')
    .option('-f, --force', 'do not fail on a volume that does not exist')
    .argument('<volume...>')
    .action(async (names: string[], o: { force?: boolean }, cmd: Command) => {
      const rt = await runtime(cmd);
      let failed: unknown;
      for (const n of names) {
        try {
          rt.removeVolume(n, { force: o.force === true });
          process.stdout.write(`${n}\n`);
        } catch (err) {
          if (failed !== undefined) process.stderr.write(`Error: ${(failed as Error).message}\n`);
          failed = err;
        }
      }
      if (failed !== undefined) throw failed;
    });
}
