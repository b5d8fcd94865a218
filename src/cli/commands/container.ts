import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ErrorCode, invalidArgument, TsswarmError } from '../../api/errors.js';
import { parseMountFlag } from '../../api/mount-flag.js';
import { dockerFields } from '../../display/index.js';
import { formatObjects, formatRows } from '../../display/list-format.js';
import { ContainerRuntime } from '../../runtime/container/container-runtime.js';
import { formatBytes, formatPs, inspectDocument } from '../../runtime/container/format.js';
import { parseEnv, parseEnvFile, parseLabels } from '../../runtime/container/parse.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';
import { RemoteRuntime } from '../remote-runtime.js';

async function runtime(cmd: Command, runtimeName?: string) {
  const g = globalOptions(cmd);
  const cgroupParent = process.env['TSSWARM_CGROUP_PARENT'];
  return ContainerRuntime.open({
    dataRoot: g.dataRoot,
    execRoot: g.execRoot,
    ...(runtimeName !== undefined ? { runtime: runtimeName } : {}),
    ...(cgroupParent ? { cgroupParent } : {}),
  });
}

/** The runtime of the daemon that -H/TSSWARM_HOST names, through its API. */
function remoteRuntime(cmd: Command): RemoteRuntime {
  return new RemoteRuntime(new ApiClient(clientTarget(globalOptions(cmd))));
}

/** Through the daemon's API with -H/TSSWARM_HOST, else the local runtime. */
async function nodeRuntime(cmd: Command) {
  return globalOptions(cmd).host === undefined ? runtime(cmd) : remoteRuntime(cmd);
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface RunFlags {
  detach?: boolean;
  rm?: boolean;
  name?: string;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  memory?: string;
  cpus?: string;
  cpuShares?: string;
  pidsLimit?: string;
  volume: string[];
  mount: string[];
  tmpfs: string[];
  readOnly?: boolean;
  capAdd: string[];
  capDrop: string[];
  init?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
  label: string[];
  entrypoint?: string;
  runtime?: string;
}

function addCreateFlags(c: Command): Command {
  return c
    .option('--name <name>', 'assign a name to the container')
    .option('-e, --env <K=V>', 'set an environment variable', collect, [])
    .option('--env-file <file>', 'read environment variables from a file', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid (and group) to run as')
    .option('--hostname <name>', 'container host name')
    .option('-m, --memory <bytes>', 'memory limit (e.g. 512m)')
    .option('--cpus <n>', 'number of CPUs')
    .option('--cpu-shares <n>', 'CPU shares (relative weight)')
    .option('--pids-limit <n>', 'limit on the number of processes (-1: unlimited)')
    .option('-v, --volume <src:dst[:ro]>', 'bind-mount a host path or a named volume', collect, [])
    .option('--mount <spec>', 'type=volume|bind|tmpfs,source=…,target=…[,readonly]', collect, [])
    .option('--tmpfs <dst[:opts]>', 'mount a tmpfs', collect, [])
    .option('--read-only', "mount the container's root filesystem read-only")
    .option('--cap-add <cap>', 'add a Linux capability', collect, [])
    .option('--cap-drop <cap>', 'drop a Linux capability', collect, [])
    .option('--init', 'run an init inside the container that forwards signals and reaps')
    .option('--stop-signal <signal>', 'signal to stop the container')
    .option('--stop-timeout <seconds>', 'seconds to wait before killing on stop')
    .option('-l, --label <k=v>', 'set metadata on the container', collect, [])
    .option('--entrypoint <cmd>', "override the image's entrypoint")
    .option('--runtime <name>', 'OCI runtime: runc (default) or crun')
    .argument('<image>', 'image reference')
    .argument('[command...]', 'command and arguments');
}

function createOptions(image: string, command: string[], f: RunFlags) {
  const fileEnv: string[] = [];
  for (const path of f.envFile) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw invalidArgument(`cannot read --env-file ${path}: ${(err as Error).message}`);
    }
    fileEnv.push(...parseEnvFile(path, text));
  }
  const int = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v))
      throw invalidArgument(`invalid value "${v}" for ${flag}: expected an integer`);
    return Number(v);
  };
  const pidsLimit = int('--pids-limit', f.pidsLimit);
  const cpuShares = int('--cpu-shares', f.cpuShares);
  const stopTimeoutSec = int('--stop-timeout', f.stopTimeout);
  return {
    image,
    ...(command.length > 0 ? { cmd: command } : {}),
    ...(f.entrypoint !== undefined
      ? { entrypoint: f.entrypoint === '' ? [] : [f.entrypoint] }
      : {}),
    ...(f.name !== undefined ? { name: f.name } : {}),
    // Resolved here, from the CLI's environment: over -H the daemon's is not the user's.
    env: [...fileEnv, ...parseEnv(f.env)],
    ...(f.workdir !== undefined ? { workingDir: f.workdir } : {}),
    ...(f.user !== undefined ? { user: f.user } : {}),
    ...(f.hostname !== undefined ? { hostname: f.hostname } : {}),
    ...(f.memory !== undefined ? { memory: f.memory } : {}),
    ...(f.cpus !== undefined ? { cpus: f.cpus } : {}),
    ...(cpuShares !== undefined ? { cpuShares } : {}),
    ...(pidsLimit !== undefined ? { pidsLimit } : {}),
    binds: f.volume,
    mounts: f.mount.map(parseMountFlag),
    tmpfs: f.tmpfs,
    readOnly: f.readOnly === true,
    capAdd: f.capAdd,
    capDrop: f.capDrop,
    init: f.init === true,
    ...(f.stopSignal !== undefined ? { stopSignal: f.stopSignal } : {}),
    ...(stopTimeoutSec !== undefined ? { stopTimeoutSec } : {}),
    labels: parseLabels(f.label),
    autoRemove: f.rm === true,
  };
}

/** Docker's exit codes when the command itself cannot run: 127 not found, 126 not runnable. */
function startExitCode(err: unknown): number | undefined {
  if (!(err instanceof TsswarmError)) return undefined;
  if (err.code === ErrorCode.CommandNotFound) return 127;
  if (err.code === ErrorCode.CommandNotRunnable) return 126;
  return undefined;
}

export function registerContainerCommands(program: Command): void {
  addCreateFlags(
    program
      .command('run')
      .description('create and start a container')
      .option('-d, --detach', 'run in the background and print the container id')
      .option('--rm', 'remove the container when it exits'),
  )
    .passThroughOptions()
    .action(async (image: string, command: string[], f: RunFlags, cmd: Command) => {
      if (globalOptions(cmd).host !== undefined) {
        await remoteRun(remoteRuntime(cmd), createOptions(image, command, f), f);
        return;
      }
      const rt = await runtime(cmd, f.runtime);
      const id = await rt.create(createOptions(image, command, f));
      let att;
      try {
        att = await rt.start(id, { attach: f.detach !== true });
      } catch (err) {
        const code = startExitCode(err);
        if (code === undefined) throw err;
        process.stderr.write(`Error: ${(err as Error).message}\n`);
        process.exitCode = code;
        return;
      }
      if (!att) {
        process.stdout.write(`${id}\n`);
        return;
      }
      // Like docker's sig-proxy: signals to the CLI go to the container.
      const forward = (sig: NodeJS.Signals): void => void rt.kill(id, sig).catch(() => undefined);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      // The monitor's "exited" ends the follow at once instead of at the next poll.
      const exited = new AbortController();
      const exitP = att.exited().finally(() => exited.abort());
      for await (const e of rt.logs(id, { follow: true, signal: exited.signal })) {
        (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.line);
      }
      const exit = await exitP;
      await att.release(f.rm === true);
      // Nothing is left to do; waiting for Node's own teardown costs ~30 ms per run here.
      // stdout and stderr writes are synchronous for files, pipes and terminals on Linux.
      process.exit(exit.exitCode);
    });

  addCreateFlags(program.command('create').description('create a container without starting it'))
    .passThroughOptions()
    .action(async (image: string, command: string[], f: RunFlags, cmd: Command) => {
      const opts = createOptions(image, command, f);
      const id =
        globalOptions(cmd).host !== undefined
          ? await remoteRuntime(cmd).create(opts, f.runtime)
          : await (await runtime(cmd, f.runtime)).create(opts);
      process.stdout.write(`${id}\n`);
    });

  program
    .command('start')
    .description('start one or more created or stopped containers')
    .argument('<container...>')
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const rt = await nodeRuntime(cmd);
      for (const ref of refs) {
        await rt.start(ref);
        process.stdout.write(`${ref}\n`);
      }
    });

  program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show all containers (default: running only)')
    .option('-q, --quiet', 'only print ids')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', 'table, json, or a Go template such as {{.Names}}')
    .option('-f, --filter <filter>', 'filter: label=k=v', collect, [])
    .action(
      async (
        o: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string; filter: string[] },
        cmd: Command,
      ) => {
        const rt = await nodeRuntime(cmd);
        const labels: Record<string, string> = {};
        for (const f of o.filter) {
          const m = /^label=([^=]+)(?:=(.*))?$/.exec(f);
          if (!m?.[1])
            throw invalidArgument(`invalid filter "${f}": only label=KEY=VALUE is supported`);
          labels[m[1]] = m[2] ?? '';
        }
        const list = await rt.list({ all: o.all === true, labels });
        if (o.quiet) {
          for (const i of list)
            process.stdout.write(`${o.trunc ? i.record.Id.slice(0, 12) : i.record.Id}\n`);
        } else {
          process.stdout.write(formatPs(list, o.format));
        }
      },
    );

  program
    .command('logs')
    .description("print a container's logs")
    .option('-f, --follow', 'follow log output')
    .option('-n, --tail <n>', 'number of lines from the end (or "all")')
    .option('-t, --timestamps', 'show timestamps')
    .argument('<container>')
    .action(
      async (
        ref: string,
        o: { follow?: boolean; tail?: string; timestamps?: boolean },
        cmd: Command,
      ) => {
        const rt = await nodeRuntime(cmd);
        let tail: number | undefined;
        if (o.tail !== undefined && o.tail !== 'all') {
          if (!/^\d+$/.test(o.tail)) throw invalidArgument(`invalid value "${o.tail}" for --tail`);
          tail = Number(o.tail);
        }
        for await (const e of rt.logs(ref, {
          follow: o.follow === true,
          ...(tail !== undefined ? { tail } : {}),
        })) {
          const out = e.stream === 'stderr' ? process.stderr : process.stdout;
          out.write(o.timestamps ? `${e.time} ${e.line}` : e.line);
        }
      },
    );

  program
    .command('stop')
    .description('stop containers: the stop signal, then SIGKILL after the timeout')
    .option('-t, --time <seconds>', 'seconds to wait before killing')
    .argument('<container...>')
    .action(async (refs: string[], o: { time?: string }, cmd: Command) => {
      const rt = await nodeRuntime(cmd);
      if (o.time !== undefined && !/^\d+$/.test(o.time)) {
        throw invalidArgument(`invalid value "${o.time}" for --time: expected seconds`);
      }
      await eachRef(refs, async (ref) => {
        await rt.stop(ref, o.time === undefined ? undefined : Number(o.time));
      });
    });

  program
    .command('kill')
    .description('send a signal to containers')
    .option('-s, --signal <signal>', 'signal to send', 'KILL')
    .argument('<container...>')
    .action(async (refs: string[], o: { signal: string }, cmd: Command) => {
      const rt = await nodeRuntime(cmd);
      await eachRef(refs, (ref) => rt.kill(ref, o.signal));
    });

  program
    .command('rm')
    .description('remove containers')
    .option('-f, --force', 'kill a running container before removing it')
    .argument('<container...>')
    .action(async (refs: string[], o: { force?: boolean }, cmd: Command) => {
      const rt = await nodeRuntime(cmd);
      await eachRef(refs, (ref) => rt.remove(ref, { force: o.force === true }));
    });

  program
    .command('exec')
    .description('run a command in a running container')
    .option('-i, --interactive', "forward this process's stdin to the command")
    .option(
      '-t, --tty',
      'locally the command shares this terminal (no new pseudo-terminal); refused with -H',
    )
    .option('-e, --env <K=V>', 'set an environment variable', collect, [])
    .option('-w, --workdir <dir>', 'working directory')
    .option('-u, --user <user[:group]>', "user name or uid (and group); the container's by default")
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .action(
      async (
        ref: string,
        command: string[],
        o: { interactive?: boolean; tty?: boolean; env: string[]; workdir?: string; user?: string },
        cmd: Command,
      ) => {
        const opts = {
          env: parseEnv(o.env),
          ...(o.workdir !== undefined ? { workingDir: o.workdir } : {}),
          ...(o.user !== undefined ? { user: o.user } : {}),
        };
        if (globalOptions(cmd).host === undefined) {
          const rt = await runtime(cmd);
          process.exitCode = await rt.exec(ref, command, {
            ...opts,
            stdin: o.interactive === true,
          });
          return;
        }
        if (o.tty === true) {
          throw invalidArgument(
            'exec -t (a pseudo-terminal) is not served over -H/TSSWARM_HOST: run without -t',
          );
        }
        const rt = remoteRuntime(cmd);
        const code = await rt.exec(ref, command, opts, {
          ...(o.interactive === true ? { stdin: process.stdin } : {}),
          stdout: process.stdout,
          stderr: process.stderr,
        });
        // stdin may still be open (the command ended first): nothing more is read from it.
        if (o.interactive === true) process.stdin.destroy();
        process.exitCode = code;
      },
    );

  program
    .command('inspect')
    .description('print docker-shaped JSON about containers')
    .argument('<container...>')
    .option('-f, --format <format>', 'json (default), or a Go template such as {{.State.Pid}}')
    .action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const rt = await nodeRuntime(cmd);
      const docs = [];
      for (const ref of refs) {
        if (!('paths' in rt)) {
          docs.push(await rt.inspectDocument(ref));
          continue;
        }
        const info = await rt.inspect(ref);
        docs.push(inspectDocument(info, rt.paths(info.record.Id)));
      }
      process.stdout.write(formatObjects(docs, o.format, dockerFields.Container));
    });

  program
    .command('stats')
    .description('resource usage of containers')
    .addOption(new Option('--no-stream', 'print one sample and exit (the only mode)'))
    .option('--format <format>', 'table, json, or a Go template such as {{.CPUPerc}}')
    .argument('[container...]')
    .action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const rt = await nodeRuntime(cmd);
      const stats = await rt.stats(refs);
      const rows = stats.map((s) => ({
        ID: s.id.slice(0, 12),
        Name: s.name,
        CPUPerc: `${s.cpuPercent.toFixed(2)}%`,
        MemUsage: `${formatBytes(s.memoryUsage)} / ${formatBytes(s.memoryLimit)}`,
        MemPerc: `${((100 * s.memoryUsage) / (s.memoryLimit || 1)).toFixed(2)}%`,
        PIDs: String(s.pids),
      }));
      process.stdout.write(
        formatRows(rows, o.format, [
          { header: 'CONTAINER ID', field: 'ID' },
          { header: 'NAME', field: 'Name' },
          { header: 'CPU %', field: 'CPUPerc' },
          { header: 'MEM USAGE / LIMIT', field: 'MemUsage' },
          { header: 'MEM %', field: 'MemPerc' },
          { header: 'PIDS', field: 'PIDs' },
        ]),
      );
    });

  program
    .command('wait')
    .description('wait for containers to stop, then print their exit codes')
    .argument('<container...>')
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const rt = await nodeRuntime(cmd);
      for (const ref of refs) {
        const r = await rt.wait(ref);
        process.stdout.write(`${r.exitCode}\n`);
      }
    });
}

/**
 * `run` on the node of -H/TSSWARM_HOST: create and start there; attached, follow its logs
 * until it exits, forward SIGINT/SIGTERM as kill, take its exit code, remove it for --rm.
 */
async function remoteRun(
  rt: RemoteRuntime,
  opts: ReturnType<typeof createOptions>,
  f: RunFlags,
): Promise<void> {
  const detach = f.detach === true;
  // Detached --rm: the node's monitor removes it; attached: here, after the last log line.
  const id = await rt.create({ ...opts, autoRemove: detach && f.rm === true }, f.runtime);
  try {
    await rt.start(id);
  } catch (err) {
    const code = startExitCode(err);
    if (f.rm === true) await rt.remove(id, { force: true }).catch(() => undefined);
    if (code === undefined) throw err;
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exitCode = code;
    return;
  }
  if (detach) {
    process.stdout.write(`${id}\n`);
    return;
  }
  const forward = (sig: NodeJS.Signals): void => void rt.kill(id, sig).catch(() => undefined);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  // The daemon ends the follow once the container has exited and its last line is sent.
  for await (const e of rt.logs(id, { follow: true })) {
    (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.line);
  }
  const exit = await rt.wait(id);
  if (f.rm === true) await rt.remove(id, { force: true });
  process.exit(exit.exitCode);
}

/** Acts on every ref, reporting each failure as docker does, and fails if any failed. */
async function eachRef(refs: string[], f: (ref: string) => Promise<void>): Promise<void> {
  let failed: unknown;
  for (const ref of refs) {
    try {
      await f(ref);
      process.stdout.write(`${ref}\n`);
    } catch (err) {
      if (failed !== undefined) process.stderr.write(`Error: ${(failed as Error).message}\n`);
      failed = err;
    }
  }
  if (failed !== undefined) throw failed;
}
