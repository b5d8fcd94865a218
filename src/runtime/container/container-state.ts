// A container's state, derived from its files and whether its monitor still lives.
import { readJson } from './container-store.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerHealth, ContainerState } from './types.js';

/** The monitor's program name, so a recycled pid is not taken for it. */
export const monitorMarker = 'tsswarm-shim';

export function containerState(ctx: RuntimeContext, id: string): ContainerState {
  const p = ctx.store.paths(id);
  const running = readJson<{ pid: number; monitorPid: number; startedAt: string }>(p.running);
  type ExitFile = { exitCode: number; oomKilled: boolean; finishedAt: string; error?: string };
  let exit = readJson<ExitFile>(p.exit);
  const health = readJson<ContainerHealth>(p.health);
  const base: ContainerState = {
    ...(health ? { Health: health } : {}),
    Status: 'created',
    Running: false,
    Pid: 0,
    ExitCode: 0,
    OOMKilled: false,
    Error: '',
    StartedAt: running?.startedAt ?? '0001-01-01T00:00:00Z',
    FinishedAt: '0001-01-01T00:00:00Z',
    MonitorPid: 0,
  };
  // The monitor writes exit.json and then exits: a monitor found gone may have done so
  // between the first read and the liveness check.
  if (!exit && running && !ctx.host.processAlive(running.monitorPid, monitorMarker)) {
    exit = readJson<ExitFile>(p.exit);
  }
  if (exit) {
    return {
      ...base,
      Status: 'exited',
      ExitCode: exit.exitCode,
      OOMKilled: exit.oomKilled,
      Error: exit.error ?? '',
      FinishedAt: exit.finishedAt,
    };
  }
  if (!running) return base;
  if (ctx.host.processAlive(running.monitorPid, monitorMarker)) {
    return {
      ...base,
      Status: 'running',
      Running: true,
      Pid: running.pid,
      MonitorPid: running.monitorPid,
    };
  }
  // The monitor died without recording an exit (killed, or the host rebooted).
  return {
    ...base,
    Status: 'dead',
    ExitCode: 255,
    Error: `monitor ${running.monitorPid} is gone and recorded no exit`,
  };
}
