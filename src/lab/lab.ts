import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, TsswarmError, ErrorCode } from '../api/errors.js';
import type { LabContext } from './lab-context.js';
import { isRunning, killProcess, type ProcessRef } from './lab-host.js';
import { findNode, labNames, readLabState, readyLab, updateLabState } from './lab-state.js';
import { cutLink, netnsPath } from './network.js';
import { deleteContainers, killLeftovers, startNodeProcess } from './node-processes.js';

/** `incomplete`: the lab's create never finished (crashed or still running); only rm applies. */
export type NodeRunState = 'running' | 'exited' | 'not started' | 'incomplete';

export interface LabNodeStatus {
  lab: string;
  name: string;
  role: string;
  address: string;
  pid: number | null;
  socket: string;
  state: NodeRunState;
  partitioned: boolean;
}

export async function listLabs(ctx: LabContext): Promise<LabNodeStatus[]> {
  const out: LabNodeStatus[] = [];
  for (const lab of labNames(ctx.dataRoot)) {
    const state = await readLabState(ctx.dataRoot, lab).catch(() => undefined);
    if (!state) continue;
    for (const n of state.nodes) {
      out.push({
        lab,
        name: n.name,
        role: n.role,
        address: n.address,
        pid: n.process?.pid ?? null,
        socket: n.socket,
        state:
          state.phase !== 'ready'
            ? 'incomplete'
            : n.process === null
              ? 'not started'
              : isRunning(ctx.host, n.process)
                ? 'running'
                : 'exited',
        partitioned: n.partitioned,
      });
    }
  }
  return out;
}

/** The lines `lab env` prints: eval them to point the CLI at the node. */
export async function nodeEnv(ctx: LabContext, lab: string, node: string): Promise<string> {
  const n = findNode(await readyLab(ctx, lab), node);
  return `export TSSWARM_HOST=unix://${n.socket}\n`;
}

/**
 * SIGKILLs the node's daemon. With `all`, the whole node as in a power cut: also every process
 * in its namespace and cgroup (nats-server, monitors) and its containers; mounts stay, as the
 * daemon's own recovery has to cope with what a crash leaves.
 */
export async function killNode(
  ctx: LabContext,
  lab: string,
  node: string,
  opts: { all?: boolean } = {},
): Promise<ProcessRef> {
  const state = await readyLab(ctx, lab);
  const n = findNode(state, node);
  if (n.process === null || !isRunning(ctx.host, n.process)) {
    throw conflict(`${lab}/${node} is not running`);
  }
  await killProcess(ctx.host, n.process);
  if (opts.all === true) {
    await killLeftovers(ctx, [n.netns], [n.cgroupParent]);
    await deleteContainers(ctx.host, join(n.execRoot, 'runc'));
  }
  return n.process;
}

export async function startNode(
  ctx: LabContext,
  lab: string,
  node: string,
  readyTimeoutMs = 30_000,
): Promise<ProcessRef> {
  const state = await readyLab(ctx, lab);
  const n = findNode(state, node);
  if (state.nodeCommand === null) {
    throw new TsswarmError(
      ErrorCode.Unavailable,
      `lab ${lab} has no node command: this build had no tsswarm daemon when the lab was made`,
    );
  }
  if (n.process !== null && isRunning(ctx.host, n.process)) {
    throw conflict(`${lab}/${node} is already running (pid ${n.process.pid})`);
  }
  if (!existsSync(netnsPath(n.netns))) {
    // /run is a tmpfs: after a reboot the lab's files remain but its namespaces do not.
    throw new TsswarmError(
      ErrorCode.Unavailable,
      `${lab}/${node}: its network namespace ${n.netns} is gone (host rebooted?); run tsswarm lab rm ${lab} and create it again`,
    );
  }
  const { ready } = await startNodeProcess(ctx, state, n, readyTimeoutMs);
  const ref = n.process as ProcessRef;
  await updateLabState(ctx, lab, (s) => (findNode(s, node).process = ref));
  await ready();
  return ref;
}

async function setPartitioned(
  ctx: LabContext,
  lab: string,
  node: string,
  cut: boolean,
): Promise<void> {
  const state = await readyLab(ctx, lab);
  await cutLink(ctx.host, state, findNode(state, node), cut);
  await updateLabState(ctx, lab, (s) => (findNode(s, node).partitioned = cut));
}

/** Cuts the node's link at the hub: its frames are dropped both ways, its own netns untouched. */
export const partitionNode = (ctx: LabContext, lab: string, node: string): Promise<void> =>
  setPartitioned(ctx, lab, node, true);
export const healNode = (ctx: LabContext, lab: string, node: string): Promise<void> =>
  setPartitioned(ctx, lab, node, false);
