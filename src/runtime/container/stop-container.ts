// The end of a running container: wait for its exit, signal it, stop it (signal, then SIGKILL).
import { existsSync } from 'node:fs';
import { ErrorCode, TsswarmError, conflict, notFound } from '../../api/errors.js';
import { runtimeBinary, runtimeRoot } from './binaries.js';
import { containerState } from './container-state.js';
import { parseSignal } from './parse.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ExitResult } from './types.js';
import { waitForChange } from './wait-for-change.js';

export async function waitContainer(
  ctx: RuntimeContext,
  ref: string,
  signal?: AbortSignal,
): Promise<ExitResult> {
  const id = ctx.store.resolve(ref);
  for (;;) {
    const s = containerState(ctx, id);
    if (s.Status === 'exited' || s.Status === 'dead') {
      return s.Error
        ? { exitCode: s.ExitCode, oomKilled: s.OOMKilled, error: s.Error }
        : { exitCode: s.ExitCode, oomKilled: s.OOMKilled };
    }
    if (signal?.aborted) throw new TsswarmError(ErrorCode.Unavailable, 'wait aborted');
    // Removed by another caller while we waited: its state files will never change again.
    if (!existsSync(ctx.store.paths(id).dir)) throw notFound(`No such container: ${ref}`);
    await waitForChange(ctx.store.paths(id).dir, 200);
  }
}

export async function killContainer(
  ctx: RuntimeContext,
  ref: string,
  signal = 'SIGKILL',
): Promise<void> {
  const id = ctx.store.resolve(ref);
  const sig = parseSignal('--signal', signal);
  const r = ctx.store.readRecord(id);
  if (!containerState(ctx, id).Running) {
    throw conflict(`cannot kill container ${ref}: container ${id} is not running`);
  }
  const res = await ctx.host.runRuntime(runtimeBinary(r.HostConfig.Runtime), [
    '--root',
    runtimeRoot(ctx.config.execRoot, r.HostConfig.Runtime),
    'kill',
    id,
    sig.slice(3),
  ]);
  if (res.code !== 0 && containerState(ctx, id).Running) {
    throw new TsswarmError(ErrorCode.Internal, `kill ${ref}: ${res.stderr.trim()}`);
  }
}

/** Sends the stop signal, then SIGKILL after the timeout (container's, else 10 s). */
export async function stopContainer(
  ctx: RuntimeContext,
  ref: string,
  timeoutSec?: number,
): Promise<void> {
  const id = ctx.store.resolve(ref);
  const r = ctx.store.readRecord(id);
  if (!containerState(ctx, id).Running) return;
  const t = timeoutSec ?? r.Config.StopTimeout ?? 10;
  await killContainer(ctx, id, r.Config.StopSignal).catch((err: unknown) => {
    if (containerState(ctx, id).Running) throw err;
  });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), Math.max(0, t) * 1000);
  try {
    await waitContainer(ctx, id, ac.signal);
    return;
  } catch {
    // timed out: kill
  } finally {
    clearTimeout(timer);
  }
  if (containerState(ctx, id).Running) {
    await killContainer(ctx, id, 'SIGKILL').catch(() => undefined);
  }
  await waitContainer(ctx, id);
}
