import { invalidArgument } from '../api/errors.js';

export type LabRole = 'manager' | 'worker';

/** Lab names end up in netns, cgroup and directory names: keep them short and plain. */
const labNamePattern = /^[a-z0-9][a-z0-9-]{0,23}$/;

export function validateLabName(name: string): void {
  if (!labNamePattern.test(name)) {
    throw invalidArgument(
      `lab name ${JSON.stringify(name)}: use 1 to 24 lower-case letters, digits and dashes, starting with a letter or digit`,
    );
  }
}

/** manager1..managerM, then worker1..workerW: the first manager is the one that inits. */
export function nodeNames(managers: number, workers: number): { name: string; role: LabRole }[] {
  const out: { name: string; role: LabRole }[] = [];
  for (let i = 1; i <= managers; i++) out.push({ name: `manager${i}`, role: 'manager' });
  for (let i = 1; i <= workers; i++) out.push({ name: `worker${i}`, role: 'worker' });
  return out;
}

const prefix = 'tsswarm-lab-';

/**
 * Every kernel object of lab L is named `tsswarm-lab-L-<hub|managerN|workerN>`. The suffix
 * pattern cannot end another lab's name, so a scan by pattern finds exactly one lab's objects
 * (lab "a" never matches lab "a-hub"'s `tsswarm-lab-a-hub-manager1`).
 */
export const labObjectName = (lab: string, part: string): string => `${prefix}${lab}-${part}`;
export const hubNetnsName = (lab: string): string => labObjectName(lab, 'hub');

export function labObjectPattern(lab: string): RegExp {
  return new RegExp(`^${prefix}${lab}-(hub|manager[0-9]+|worker[0-9]+)$`);
}

/** The hub side of a node's veth; lives only in the hub namespace, so it needs no lab name. */
export const hubVethName = (node: string): string => `v-${node}`;
export const bridgeName = 'lab0';
export const nodeLinkName = 'eth0';
