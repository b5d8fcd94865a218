// `exec`: a command in a running container through the OCI runtime's exec, with docker's
// exit codes (127 not found, 126 not runnable) and the container's user by default.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { conflict, invalidArgument } from '../../api/errors.js';
import { runtimeBinary, runtimeRoot } from './binaries.js';
import { containerState } from './container-state.js';
import { parseEnv } from './parse.js';
import type { RuntimeContext } from './runtime-context.js';
import { resolveUser } from './user.js';

export interface ExecOptions {
  env?: string[];
  workingDir?: string;
  /** user[:group], resolved in the image's passwd; the container's user by default. */
  user?: string;
  /** Give the command a stdin (this process's for `exec`, a pipe for `execPiped`). */
  stdin?: boolean;
}

export interface ExecProcess {
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable;
  /** The command's exit code: 127 not found, 126 not runnable, as docker. */
  exited: Promise<number>;
  /** SIGKILL to the command in the container and to the runtime's process. */
  kill(): void;
}

/**
 * Runs a command in a running container with this process's stdout and stderr (and stdin
 * with `stdin`, as `docker exec -i`); returns its exit code.
 */
export async function execContainer(
  ctx: RuntimeContext,
  ref: string,
  cmd: string[],
  opts: ExecOptions = {},
): Promise<number> {
  const call = execCall(ctx, ref, cmd, opts);
  const res = await ctx.host.runRuntime(
    call.binary,
    call.args,
    opts.stdin === true ? true : 'output',
  );
  return execExitCode(res.code, call.runtimeLog);
}

/**
 * Runs a command in a running container with its stdio as streams (the API's exec): stdin
 * only with `opts.stdin`. `kill()` ends the command itself, not only the runtime's process.
 * The exit code maps as `exec`'s: 127 command not found, 126 not runnable.
 */
export function execPiped(
  ctx: RuntimeContext,
  ref: string,
  cmd: string[],
  opts: ExecOptions = {},
): ExecProcess {
  const pidFile = join(
    ctx.store.paths(ctx.store.resolve(ref)).bundle,
    `exec-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.pid`,
  );
  const call = execCall(ctx, ref, cmd, opts, pidFile);
  const child = ctx.host.spawnPiped(call.binary, call.args, opts.stdin === true);
  const exited = child.exited.then((code) => {
    rmSync(pidFile, { force: true });
    return execExitCode(code, call.runtimeLog);
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    kill: () => {
      try {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        // not started yet, or already gone
      }
      child.kill();
    },
  };
}

/** Checks an exec and builds the runtime's arguments: the container must run. */
function execCall(
  ctx: RuntimeContext,
  ref: string,
  cmd: string[],
  opts: ExecOptions,
  pidFile?: string,
): { binary: string; args: string[]; runtimeLog: string } {
  const id = ctx.store.resolve(ref);
  const r = ctx.store.readRecord(id);
  if (!containerState(ctx, id).Running) throw conflict(`container ${id} is not running`);
  if (cmd.length === 0) throw invalidArgument('exec needs a command');
  // As docker: the container's user unless the exec names one.
  const userSpec = opts.user ?? r.Config.User;
  const user = userSpec ? resolveUser(userSpec, r.LayerDirs) : undefined;
  // runc exits 255 for its own failures; its log says whether the command was the problem.
  const runtimeLog = join(
    ctx.store.paths(id).bundle,
    `exec-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`,
  );
  const args = [
    '--root',
    runtimeRoot(ctx.config.execRoot, r.HostConfig.Runtime),
    '--log',
    runtimeLog,
    '--log-format',
    'json',
    'exec',
  ];
  if (pidFile !== undefined) args.push('--pid-file', pidFile);
  for (const e of parseEnv(opts.env ?? [])) args.push('--env', e);
  if (opts.workingDir) args.push('--cwd', opts.workingDir);
  if (user) {
    args.push('--user', `${user.uid}:${user.gid}`);
    for (const g of user.additionalGids) args.push('--additional-gids', String(g));
  }
  args.push(id, ...cmd);
  return { binary: runtimeBinary(r.HostConfig.Runtime), args, runtimeLog };
}

/** The runtime's exit code for an exec, 255 mapped through its log to docker's 126/127. */
function execExitCode(code: number, runtimeLog: string): number {
  let log = '';
  try {
    log = readFileSync(runtimeLog, 'utf8');
  } catch {
    // no log: the runtime had nothing to say
  }
  rmSync(runtimeLog, { force: true });
  if (code === 255 && /executable file not found|no such file or directory/.test(log)) return 127;
  if (code === 255 && /permission denied|exec format error/.test(log)) return 126;
  return code;
}
