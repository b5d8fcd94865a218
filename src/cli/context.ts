import type { Command } from 'commander';

/** Options every verb may read; set by the global flags of `tsswarm`. */
export interface GlobalOptions {
  /** Persistent state: images, containers' upper dirs, raft, certificates. */
  dataRoot: string;
  /** Runtime state that does not survive a reboot: sockets, pid files, monitor state. */
  execRoot: string;
  /** `unix:///path` or `tcp://host:port`, from -H or TSSWARM_HOST; undefined means local. */
  host: string | undefined;
  debug: boolean;
}

export const defaultDataRoot = '/var/lib/tsswarm';
export const defaultExecRoot = '/run/tsswarm';

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{
    dataRoot?: string;
    execRoot?: string;
    host?: string;
    debug?: boolean;
  }>();
  return {
    dataRoot: o.dataRoot ?? process.env['TSSWARM_DATA_ROOT'] ?? defaultDataRoot,
    execRoot: o.execRoot ?? process.env['TSSWARM_EXEC_ROOT'] ?? defaultExecRoot,
    host: o.host ?? (process.env['TSSWARM_HOST'] || undefined),
    debug: o.debug ?? false,
  };
}
