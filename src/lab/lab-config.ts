import { invalidArgument } from '../api/errors.js';
import { daemonNodeOptions } from '../daemon/daemon-config.js';
import { parseLabSubnet } from './subnet.js';

/** The long-running process of every node: an argv template and how to tell it is up. */
export interface NodeCommand {
  /** Placeholders: {node}, {address}, {dataRoot}, {execRoot}, {socket}. */
  argv: string[];
  /** Wait for the node's API socket after a start (a real daemon); else only for the pid. */
  waitForSocket: boolean;
}

export interface LabConfig {
  managers: number;
  workers: number;
  /** Copied from the host's image store into every node's before its daemon starts. */
  images: string[];
  /** Undefined: the first free 172.30.K.0/24. */
  subnet: string | undefined;
  /** Null when this build has no daemon: the lab then stops after the plumbing and says so. */
  nodeCommand: NodeCommand | null;
  /**
   * How far to form a swarm through the tsswarm CLI: not at all, `swarm init` on manager1
   * only (a build without `swarm join`), or init and every other node joining.
   */
  cluster: 'none' | 'init' | 'full';
  /** argv prefix that runs this tsswarm: [node, .../dist/tsswarm.mjs]. */
  tsswarmArgv: string[];
  daemonReadyTimeoutMs: number;
}

export const maxLabNodes = 32;

/** The daemon's flags as `tsswarm daemon` takes them; ports stay default, each node has its own netns. */
export function daemonCommand(tsswarmArgv: readonly string[]): NodeCommand {
  return {
    argv: [
      // [node, script]: the daemon's node options go between them.
      ...tsswarmArgv.slice(0, 1),
      ...daemonNodeOptions,
      ...tsswarmArgv.slice(1),
      // Global options go before the verb: commander takes them only there.
      '--data-root',
      '{dataRoot}',
      '--exec-root',
      '{execRoot}',
      'daemon',
      '--advertise-addr',
      '{address}',
    ],
    waitForSocket: true,
  };
}

export function defaultLabConfig(tsswarmArgv: readonly string[]): LabConfig {
  return {
    managers: 1,
    workers: 2,
    images: ['busybox:latest'],
    subnet: undefined,
    nodeCommand: daemonCommand(tsswarmArgv),
    cluster: 'full',
    tsswarmArgv: [...tsswarmArgv],
    daemonReadyTimeoutMs: 30_000,
  };
}

export function validateLabConfig(c: LabConfig): void {
  if (!Number.isInteger(c.managers) || c.managers < 1) {
    throw invalidArgument(`--managers ${c.managers}: a lab needs at least 1 manager`);
  }
  if (!Number.isInteger(c.workers) || c.workers < 0) {
    throw invalidArgument(`--workers ${c.workers}: expected a whole number, 0 or more`);
  }
  if (c.managers + c.workers > maxLabNodes) {
    throw invalidArgument(
      `--managers ${c.managers} --workers ${c.workers}: a lab holds at most ${maxLabNodes} nodes`,
    );
  }
  if (c.subnet !== undefined) parseLabSubnet(c.subnet);
  if (c.nodeCommand !== null && c.nodeCommand.argv.length === 0) {
    throw invalidArgument('node command: empty argv');
  }
  if (c.cluster !== 'none' && c.nodeCommand === null) {
    throw invalidArgument('a lab cluster needs a node command (the daemon)');
  }
  if (!(c.daemonReadyTimeoutMs > 0)) {
    throw invalidArgument(`daemonReadyTimeoutMs ${c.daemonReadyTimeoutMs}: must be positive`);
  }
}
