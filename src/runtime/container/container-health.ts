// Health checks: the runtime runs one probe when asked and records what the caller observed;
// the worker schedules the checks (the runtime keeps no process).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalidArgument } from '../../api/errors.js';
import { runtimeBinary, runtimeRoot } from './binaries.js';
import { writeAtomic } from './container-store.js';
import { containerState } from './container-state.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerHealth, ProbeResult } from './types.js';

/**
 * Runs a health probe in a running container: output captured (not this process's stdio),
 * killed past `timeoutMs`. One `runc exec`, so about as cheap as an exec can be here.
 */
export async function probe(
  ctx: RuntimeContext,
  ref: string,
  cmd: string[],
  opts: { timeoutMs: number },
): Promise<ProbeResult> {
  const id = ctx.store.resolve(ref);
  const r = ctx.store.readRecord(id);
  if (!containerState(ctx, id).Running) throw conflict(`container ${id} is not running`);
  if (cmd.length === 0) throw invalidArgument('a health probe needs a command');
  const stamp = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const bundle = ctx.store.paths(id).bundle;
  const pidFile = join(bundle, `probe-${stamp}.pid`);
  const args = [
    '--root',
    runtimeRoot(ctx.config.execRoot, r.HostConfig.Runtime),
    'exec',
    '--pid-file',
    pidFile,
  ];
  if (r.Config.User) args.push('--user', r.Config.User);
  if (r.Config.WorkingDir) args.push('--cwd', r.Config.WorkingDir);
  args.push(id, ...cmd);
  try {
    const res = await ctx.host.runCaptured(runtimeBinary(r.HostConfig.Runtime), args, {
      timeoutMs: opts.timeoutMs,
      pidFile,
      maxOutput: 4096,
    });
    return { exitCode: res.code, output: res.output, timedOut: res.timedOut };
  } finally {
    rmSync(pidFile, { force: true });
  }
}

/** Records the health the caller observed; `ps` and `inspect` show it as docker does. */
export function setHealth(
  ctx: RuntimeContext,
  ref: string,
  health: ContainerHealth | undefined,
): void {
  const p = ctx.store.paths(ctx.store.resolve(ref));
  if (health === undefined) rmSync(p.health, { force: true });
  else writeAtomic(p.health, JSON.stringify(health));
}
