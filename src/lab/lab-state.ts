import { existsSync, readdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, notFound } from '../api/errors.js';
import type { NodeCommand } from './lab-config.js';
import type { LabContext } from './lab-context.js';
import type { ProcessRef } from './lab-host.js';
import { withLabLock } from './lab-lock.js';
import { validateLabName, type LabRole } from './names.js';

export interface LabNode {
  name: string;
  role: LabRole;
  address: string;
  netns: string;
  /** `<lab>-<node>`, set in the node's own UTS namespace, so swarm sees distinct hostnames. */
  hostname: string;
  /** Bind mount that keeps the node's UTS namespace between daemon restarts. */
  utsFile: string;
  /** The node's veth end in the hub namespace. */
  hubVeth: string;
  dataRoot: string;
  execRoot: string;
  socket: string;
  cgroupParent: string;
  logFile: string;
  /** The node's process as last started; null before the first start. */
  process: ProcessRef | null;
  partitioned: boolean;
}

/** `<data-root>/labs/NAME/lab.json`: written before any kernel object exists, so rm finds all. */
export interface LabState {
  version: 1;
  name: string;
  subnet: string;
  hubNetns: string;
  createdAt: string;
  /** `creating` until every step ran: such a lab is only fit for `lab rm`. */
  phase: 'creating' | 'ready';
  nodeCommand: NodeCommand | null;
  nodes: LabNode[];
  /** Steps this build could not do (no daemon yet), as told to the user at create. */
  unavailable: string[];
}

export const labsDir = (dataRoot: string): string => join(dataRoot, 'labs');
export const labDir = (dataRoot: string, name: string): string => join(labsDir(dataRoot), name);
const stateFile = (dataRoot: string, name: string): string =>
  join(labDir(dataRoot, name), 'lab.json');

export async function readLabState(dataRoot: string, name: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(dataRoot, name), 'utf8')) as LabState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Written to a temp file and renamed, so a crash leaves the old or the new state whole. */
export async function writeLabState(dataRoot: string, state: LabState): Promise<void> {
  const file = stateFile(dataRoot, state.name);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

export function labNames(dataRoot: string): string[] {
  const dir = labsDir(dataRoot);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

export async function readyLab(ctx: LabContext, name: string): Promise<LabState> {
  validateLabName(name);
  const state = await readLabState(ctx.dataRoot, name);
  if (!state) throw notFound(`no lab ${name} in ${labsDir(ctx.dataRoot)}`);
  if (state.phase !== 'ready') {
    throw conflict(`lab ${name} was not created completely; remove it with tsswarm lab rm ${name}`);
  }
  return state;
}

export function findNode(state: LabState, node: string): LabNode {
  const n = state.nodes.find((x) => x.name === node);
  if (!n) {
    throw notFound(
      `lab ${state.name} has no node ${node} (nodes: ${state.nodes.map((x) => x.name).join(', ')})`,
    );
  }
  return n;
}

/** Read-modify-write of lab.json under the lab's lock, so concurrent verbs lose no change. */
export async function updateLabState(
  ctx: LabContext,
  lab: string,
  change: (state: LabState) => void,
): Promise<void> {
  await withLabLock(ctx.host, join(labDir(ctx.dataRoot, lab), 'lock'), async () => {
    const state = await readyLab(ctx, lab);
    change(state);
    await writeLabState(ctx.dataRoot, state);
  });
}
