import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { conflict, invalidArgument } from '../api/errors.js';
import { ImageStore } from '../runtime/index.js';
import { findCgroups } from './cgroups.js';
import { claimLabName, defaultClaimDir, releaseClaim } from './claim.js';
import { formCluster } from './form-cluster.js';
import { checkImages, copyImages } from './images.js';
import { validateLabConfig, type LabConfig } from './lab-config.js';
import { checkpoint, type LabContext } from './lab-context.js';
import { planNodes, usedSubnets } from './lab-plan.js';
import { labDir, labsDir, writeLabState, type LabState } from './lab-state.js';
import { bridgeName, hubNetnsName, labObjectPattern, validateLabName } from './names.js';
import { buildNetwork, listNetns } from './network.js';
import { startNodeProcess } from './node-processes.js';
import { removeLab } from './remove-lab.js';
import { defaultLabSubnet, formatSubnet, parseLabSubnet } from './subnet.js';

// sun_path is 108 bytes with its terminating NUL.
const maxSocketPath = 107;

/**
 * Builds lab `name`: hub namespace with the bridge, one namespace, veth, address, dirs,
 * cgroup parent and process per node, images copied in, then the swarm formed. Input is
 * checked before anything is made; a failure after that removes what was made.
 */
export async function createLab(
  ctx: LabContext,
  name: string,
  config: LabConfig,
): Promise<LabState> {
  validateLabName(name);
  validateLabConfig(config);
  const say = ctx.progress ?? (() => undefined);
  const subnet =
    config.subnet !== undefined
      ? formatSubnet(parseLabSubnet(config.subnet))
      : defaultLabSubnet(await usedSubnets(ctx.dataRoot));
  const nodes = planNodes(ctx.dataRoot, name, subnet, config);
  const longest = nodes.map((n) => n.socket).sort((a, b) => b.length - a.length)[0] ?? '';
  if (longest.length > maxSocketPath) {
    throw invalidArgument(
      `--data-root ${ctx.dataRoot}: the node socket ${longest} is longer than ${maxSocketPath} bytes; use a shorter data-root or lab name`,
    );
  }
  const dir = labDir(ctx.dataRoot, name);
  if (existsSync(dir)) throw conflict(`lab ${name} already exists`);
  const hostImages = await ImageStore.open(ctx.dataRoot);
  await checkImages(ctx, hostImages, config.images);

  const claimDir = ctx.claimDir ?? defaultClaimDir;
  const holder = await claimLabName(claimDir, name, dir);
  if (holder !== undefined) {
    throw conflict(`lab name ${name} is taken on this host by the lab in ${holder}`);
  }
  const pattern = labObjectPattern(name);
  const leftovers = [
    ...(await listNetns(ctx.host)).filter((n) => pattern.test(n)),
    ...findCgroups(ctx.cgroups, pattern),
  ];
  if (leftovers.length > 0) {
    // Nobody holds the name, so these are orphans: lab rm may sweep them.
    await releaseClaim(claimDir, name);
    throw conflict(
      `lab ${name}: ${leftovers.join(', ')} left from an earlier lab; run tsswarm lab rm ${name}`,
    );
  }
  await mkdir(labsDir(ctx.dataRoot), { recursive: true });
  try {
    await mkdir(dir);
  } catch (err) {
    await releaseClaim(claimDir, name);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw conflict(`lab ${name} already exists`);
    throw err;
  }
  const state: LabState = {
    version: 1,
    name,
    subnet,
    hubNetns: hubNetnsName(name),
    createdAt: new Date().toISOString(),
    phase: 'creating',
    nodeCommand: config.nodeCommand,
    nodes,
    unavailable: [],
  };
  try {
    await writeLabState(ctx.dataRoot, state);
    say(`lab ${name}: network ${subnet}`);
    await buildNetwork(ctx.host, state);
    say(`lab ${name}: ${nodes.length} namespaces on bridge ${bridgeName}`);
    checkpoint(ctx, name);
    await copyImages(ctx, state, hostImages, config.images);
    say(`lab ${name}: copied ${config.images.join(', ')} into every node`);
    checkpoint(ctx, name);
    if (config.nodeCommand === null) {
      state.unavailable.push('start daemons', 'swarm init/join');
    } else {
      // Every daemon starts at once (their start-up is mostly waiting), all recorded before
      // any is waited for, so a failure leaves no unrecorded process for rm to hunt.
      const waiters: (() => Promise<void>)[] = [];
      for (const node of nodes) {
        waiters.push((await startNodeProcess(ctx, state, node, config.daemonReadyTimeoutMs)).ready);
        say(`lab ${name}: ${node.name} ${node.address} pid ${node.process?.pid ?? '-'}`);
      }
      await writeLabState(ctx.dataRoot, state);
      await Promise.all(waiters.map((ready) => ready()));
      checkpoint(ctx, name);
      if (config.cluster !== 'none') await formCluster(ctx, config, nodes, say);
      if (config.cluster === 'init' && nodes.length > 1) state.unavailable.push('swarm join');
    }
    state.phase = 'ready';
    await writeLabState(ctx.dataRoot, state);
    return state;
  } catch (err) {
    await removeLab(ctx, name).catch((cleanupErr: unknown) => {
      say(`lab ${name}: rollback incomplete: ${String(cleanupErr)}`);
    });
    throw err;
  }
}
