// `start`: writes the OCI bundle's config.json (the spec), then hands the container to its
// monitor, which mounts the overlay root and runs the OCI runtime (see ../native/tsswarm-shim.c).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { ErrorCode, TsswarmError } from '../../api/errors.js';
import { monitorBinary, runtimeBinary, runtimeRoot } from './binaries.js';
import { cgroupsPath, oomCounterFile } from './cgroups.js';
import { writeAtomic } from './container-store.js';
import { containerState } from './container-state.js';
import type { MonitorHandle } from './host.js';
import { buildOciSpec, overlayLowerdir } from './oci-spec.js';
import { removeFiles } from './remove-container.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerRecord, ExitResult } from './types.js';
import { resolveUser } from './user.js';

export interface StartOptions {
  /** Keep the control channel: the result then carries the exit. */
  attach?: boolean;
}

export interface Attachment {
  pid: number;
  /** The container's exit, as the monitor saw it. */
  exited(): Promise<ExitResult>;
  /**
   * Call after the last logs are read: a --rm monitor then removes the container. With
   * `waitForMonitor`, resolves once the monitor is gone (the container removed, for --rm).
   */
  release(waitForMonitor: boolean): Promise<void>;
}

/** Starts a created or exited container; a running one is left alone (undefined). */
export async function startContainer(
  ctx: RuntimeContext,
  ref: string,
  opts: StartOptions = {},
): Promise<Attachment | undefined> {
  const id = ctx.store.resolve(ref);
  const r = ctx.store.readRecord(id);
  const state = containerState(ctx, id);
  if (state.Running) return undefined;
  const p = ctx.store.paths(id);
  rmSync(p.exit, { force: true });
  rmSync(p.running, { force: true });
  mkdirSync(p.rootfs, { recursive: true });
  const user = resolveUser(r.Config.User, r.LayerDirs);
  const cgPath = cgroupsPath(r.HostConfig.CgroupParent, id);
  const spec = buildOciSpec({
    record: r,
    rootfs: p.rootfs,
    ...user,
    hostsPath: p.hosts,
    hostnamePath: p.hostname,
    resolvConfPath: p.resolvConf,
    cgroupsPath: cgPath,
    initBinary: monitorBinary(ctx.config),
  });
  writeFileSync(p.ociConfig, JSON.stringify(spec));
  const args = [
    '--runtime',
    runtimeBinary(r.HostConfig.Runtime),
    '--runtime-root',
    runtimeRoot(ctx.config.execRoot, r.HostConfig.Runtime),
    '--bundle',
    p.bundle,
    '--id',
    id,
    '--log',
    p.log,
    '--state-dir',
    p.dir,
    '--cgroup',
    cgPath,
    '--oom-file',
    oomCounterFile(ctx.cgroups, cgPath),
    '--lower',
    overlayLowerdir(r.LayerDirs),
    '--upper',
    p.upper,
    '--work',
    p.work,
    '--target',
    p.rootfs,
  ];
  if (r.HostConfig.AutoRemove) {
    args.push('--rm', '--rm-path', p.dir, '--rm-path', p.bundle);
    args.push('--rm-path', ctx.store.namePath(r.Name.slice(1)));
  }
  const mon = ctx.host.startMonitor(monitorBinary(ctx.config), args, p.monitorLog);
  const first = await mon.next();
  if (first.type !== 'started') {
    const message = first.type === 'error' ? first.message : 'the container monitor exited';
    mon.detach();
    throw startFailed(ctx, id, r, message);
  }
  if (!opts.attach) {
    mon.detach();
    return undefined;
  }
  return attachment(first.pid, mon);
}

function startFailed(
  ctx: RuntimeContext,
  id: string,
  r: ContainerRecord,
  message: string,
): TsswarmError {
  const p = ctx.store.paths(id);
  let err: TsswarmError;
  let exitCode = 125;
  if (/executable file not found|no such file or directory/i.test(message)) {
    err = new TsswarmError(ErrorCode.CommandNotFound, `failed to start container: ${message}`);
    exitCode = 127;
  } else if (/permission denied|exec format error|is a directory/i.test(message)) {
    err = new TsswarmError(ErrorCode.CommandNotRunnable, `failed to start container: ${message}`);
    exitCode = 126;
  } else if (/cgroups? in hybrid mode/i.test(message)) {
    err = new TsswarmError(
      ErrorCode.Unavailable,
      `OCI runtime ${r.HostConfig.Runtime} cannot run on this host: ${message}`,
    );
  } else {
    err = new TsswarmError(ErrorCode.Internal, `failed to start container: ${message}`);
  }
  if (r.HostConfig.AutoRemove) {
    removeFiles(ctx, id, r);
  } else if (existsSync(p.dir)) {
    writeAtomic(
      p.exit,
      JSON.stringify({
        exitCode,
        oomKilled: false,
        finishedAt: new Date().toISOString(),
        error: message,
      }),
    );
  }
  return err;
}

function attachment(pid: number, mon: MonitorHandle): Attachment {
  let exit: Promise<ExitResult> | undefined;
  return {
    pid,
    exited() {
      exit ??= mon
        .next()
        .then((e) =>
          e.type === 'exited'
            ? { exitCode: e.exitCode, oomKilled: e.oomKilled }
            : { exitCode: 255, oomKilled: false, error: 'the container monitor went away' },
        );
      return exit;
    },
    async release(waitForMonitor) {
      mon.ack();
      if (!waitForMonitor) {
        mon.detach();
        return;
      }
      // The monitor closes the channel when it exits, after removal for --rm.
      for (;;) {
        const e = await mon.next();
        if (e.type === 'closed') break;
      }
      mon.detach();
    },
  };
}
