import { TsswarmError, ErrorCode } from '../api/errors.js';
import type { LabHost, ProcessRef } from './lab-host.js';

/** What it takes to run one node's long-lived process. */
export interface NodeLaunch {
  /** /run/netns/<name>: the node's network namespace. */
  netnsPath: string;
  /** A persistent UTS namespace (hostname) to enter as well. */
  utsPath?: string;
  argv: readonly string[];
  env: Record<string, string>;
  logFile: string;
  /** cgroup.procs files the process joins before it runs anything (one per hierarchy). */
  cgroupProcsFiles: readonly string[];
}

// Joins the cgroups first, so every child the node forks (nats-server, monitors) starts inside
// them, then execs: the pid we record is the node's process itself, not a wrapper.
const joinCgroupsThenExec =
  'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 1; shift; done; shift; exec "$@"';

/**
 * Starts a node's process inside its network namespace and nowhere else: nsenter --net keeps
 * the host's mount namespace (unlike `ip netns exec`, which unshares it and remounts /sys), so
 * the overlay mounts the node's daemon makes are visible to its next incarnation after a
 * `lab kill`/`lab start`, to its monitors, and to `lab rm`, and /sys/fs/cgroup stays in view.
 * The process gets its own session, so it outlives the command that launched it.
 */
export function launchNode(host: LabHost, launch: NodeLaunch): ProcessRef {
  const pid = host.spawnDetached(
    [
      '/bin/sh',
      '-c',
      joinCgroupsThenExec,
      'sh',
      ...launch.cgroupProcsFiles,
      '--',
      'nsenter',
      `--net=${launch.netnsPath}`,
      ...(launch.utsPath !== undefined ? [`--uts=${launch.utsPath}`] : []),
      '--',
      ...launch.argv,
    ],
    launch.env,
    launch.logFile,
  );
  const startTime = host.startTimeOf(pid);
  if (startTime === undefined) {
    throw new TsswarmError(
      ErrorCode.Internal,
      `${launch.argv[0] ?? 'node process'} exited at once; see ${launch.logFile}`,
    );
  }
  return { pid, startTime };
}
