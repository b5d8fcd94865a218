import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../worker/write-json.js';

/** What a node remembers about its swarm membership (`<data-root>/swarm/node.json`). */
export interface NodeState {
  nodeId: string;
  clusterId: string;
  role: 'manager' | 'worker';
  advertiseAddr: string;
  raftHost: string;
  raftPort: number;
  natsPort: number;
  natsClusterPort: number;
  natsMonitorPort: number;
  /** A worker's managers: their NATS URLs (tls://host:port), from the join answer. */
  managerNatsUrls?: string[];
}

export const nodeStateFile = (dataRoot: string): string => join(dataRoot, 'swarm', 'node.json');

export async function readNodeState(dataRoot: string): Promise<NodeState | undefined> {
  try {
    return JSON.parse(await readFile(nodeStateFile(dataRoot), 'utf8')) as NodeState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeNodeState(dataRoot: string, s: NodeState): Promise<void> {
  await mkdir(join(dataRoot, 'swarm'), { recursive: true });
  await writeJsonAtomic(nodeStateFile(dataRoot), JSON.stringify(s, null, 2));
}

/** Everything swarm membership left under the data root (images and containers stay). */
export async function removeSwarmState(dataRoot: string): Promise<void> {
  for (const dir of ['swarm', 'raft', 'certificates', 'nats', 'worker']) {
    await rm(join(dataRoot, dir), { recursive: true, force: true });
  }
}
