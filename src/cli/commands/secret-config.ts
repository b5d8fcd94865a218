import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { invalidArgument, type Config, type Secret } from '../../api/index.js';
import { humanDuration } from '../../display/human-units.js';
import { dockerFields } from '../../display/index.js';
import { formatObjects, formatRows, type Column } from '../../display/list-format.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function client(cmd: Command): ApiClient {
  return new ApiClient(clientTarget(globalOptions(cmd)));
}

type Kind = 'secret' | 'config';

/** FILE or `-` (stdin), as bytes; a missing file is named in the error. */
async function readData(file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalidArgument(
      `cannot read ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
}

function ago(iso: string): string {
  const ms = Date.now() - Date.parse(iso);
  return Number.isFinite(ms) ? `${humanDuration(Math.max(0, ms))} ago` : '';
}

function register(program: Command, kind: Kind): void {
  const plural = `${kind}s`;
  const group = program
    .command(kind)
    .description(kind === 'secret' ? 'Manage swarm secrets' : 'Manage swarm configs');

  group
    .command('create')
    .description(`Create a ${kind} from a file or STDIN as content`)
    .option('-l, --label <key=value>', `${kind} labels`, collect, [])
    .argument('<name>')
    .argument('<file>', 'a file, or - for standard input')
    .action(async (name: string, file: string, o: { label: string[] }, cmd: Command) => {
      const labels: Record<string, string> = {};
      for (const l of o.label) {
        const eq = l.indexOf('=');
        const k = eq < 0 ? l : l.slice(0, eq);
        if (k === '') throw invalidArgument(`invalid label "${l}" for --label: empty key`);
        labels[k] = eq < 0 ? '' : l.slice(eq + 1);
      }
      const data = await readData(file);
      if (data.length === 0) {
        throw invalidArgument(`${kind} data must not be empty: ${file === '-' ? 'stdin' : file}`);
      }
      const res = await client(cmd).post<{ ID: string }>(`/${plural}/create`, {
        Name: name,
        Labels: labels,
        Data: data.toString('base64'),
      });
      process.stdout.write(`${res.ID}\n`);
    });

  group
    .command('ls')
    .alias('list')
    .description(`List ${plural}`)
    .option('-q, --quiet', 'only display IDs')
    .option('--format <format>', 'table, json, or a Go template such as {{.Name}}')
    .option('-f, --filter <filter>', 'filter: name=…, label=KEY[=VALUE]', collect, [])
    .action(async (o: { quiet?: boolean; format?: string; filter: string[] }, cmd: Command) => {
      let items = await client(cmd).get<(Secret | Config)[]>(`/${plural}`);
      for (const f of o.filter) {
        const label = /^label=([^=]+)(?:=(.*))?$/.exec(f);
        const name = /^name=(.+)$/.exec(f);
        if (label?.[1]) {
          const [k, v] = [label[1], label[2]];
          items = items.filter((x) => {
            const ls = x.Spec.Labels ?? {};
            return k in ls && (v === undefined || ls[k] === v);
          });
        } else if (name?.[1]) {
          const n = name[1];
          items = items.filter((x) => x.Spec.Name.startsWith(n));
        } else {
          throw invalidArgument(`invalid filter "${f}": use name=… or label=KEY[=VALUE]`);
        }
      }
      items.sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
      if (o.quiet) {
        process.stdout.write(items.map((s) => `${s.ID}\n`).join(''));
        return;
      }
      const rows: Record<string, string>[] = items.map((s) => ({
        ID: s.ID,
        Name: s.Spec.Name,
        ...(kind === 'secret' ? { Driver: '' } : {}),
        CreatedAt: ago(s.CreatedAt),
        UpdatedAt: ago(s.UpdatedAt),
      }));
      const columns: Column<Record<string, string>>[] = [
        { header: 'ID', field: 'ID' },
        { header: 'NAME', field: 'Name' },
        ...(kind === 'secret' ? [{ header: 'DRIVER', field: 'Driver' }] : []),
        { header: 'CREATED', field: 'CreatedAt' },
        { header: 'UPDATED', field: 'UpdatedAt' },
      ];
      process.stdout.write(formatRows(rows, o.format, columns));
    });

  group
    .command('inspect')
    .description(`Display detailed information on one or more ${plural}`)
    .argument(`<${kind}...>`)
    .option('-f, --format <format>', 'json (default), or a Go template such as {{.ID}}')
    .action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const api = client(cmd);
      const out: (Secret | Config)[] = [];
      for (const r of refs) out.push(await api.get(`/${plural}/${encodeURIComponent(r)}`));
      process.stdout.write(
        formatObjects(out, o.format, kind === 'secret' ? dockerFields.Secret : dockerFields.Config),
      );
    });

  group
    .command('rm')
    .alias('remove')
    .description(`Remove one or more ${plural}`)
    .argument(`<${kind}...>`)
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const api = client(cmd);
      let failed: unknown;
      for (const r of refs) {
        try {
          await api.delete(`/${plural}/${encodeURIComponent(r)}`);
          process.stdout.write(`${r}\n`);
        } catch (err) {
          if (failed !== undefined) process.stderr.write(`Error: ${(failed as Error).message}\n`);
          failed = err;
        }
      }
      if (failed !== undefined) throw failed;
    });
}

export function registerSecretConfigCommands(program: Command): void {
  register(program, 'secret');
  register(program, 'config');
}
