import { join } from 'node:path';
import type { LabConfig } from './lab-config.js';
import { labDir, labNames, readLabState, type LabNode } from './lab-state.js';
import { hubVethName, labObjectName, nodeNames } from './names.js';
import { nodeAddresses, parseLabSubnet } from './subnet.js';

/** Every node of a lab to be made: its address, kernel object names and paths. */
export function planNodes(dataRoot: string, lab: string, subnet: string, c: LabConfig): LabNode[] {
  const names = nodeNames(c.managers, c.workers);
  const addresses = nodeAddresses(parseLabSubnet(subnet), names.length);
  return names.map(({ name, role }, i) => {
    const dir = join(labDir(dataRoot, lab), name);
    const execRoot = join(dir, 'exec');
    return {
      name,
      role,
      address: addresses[i] ?? '',
      netns: labObjectName(lab, name),
      hostname: `${lab}-${name}`,
      utsFile: join(dir, 'uts'),
      hubVeth: hubVethName(name),
      dataRoot: join(dir, 'data'),
      execRoot,
      socket: join(execRoot, 'tsswarm.sock'),
      cgroupParent: labObjectName(lab, name),
      logFile: join(dir, 'daemon.log'),
      process: null,
      partitioned: false,
    };
  });
}

/** The subnets of the labs under `dataRoot`, which a new lab's default must avoid. */
export async function usedSubnets(dataRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of labNames(dataRoot)) {
    const s = await readLabState(dataRoot, n).catch(() => undefined);
    if (s) out.push(s.subnet);
  }
  return out;
}
