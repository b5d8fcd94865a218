import { createConnection } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { conflict, invalidArgument, notFound, TsswarmError, ErrorCode } from '../api/errors.js';
import { ImageStore } from '../runtime/index.js';
import {
  createNodeCgroup,
  findCgroups,
  nodeCgroupDirs,
  pidsInTree,
  removeTree,
  type CgroupRoot,
} from './cgroups.js';
import { validateLabConfig, type LabConfig, type NodeCommand } from './lab-config.js';
import { isRunning, killProcess, runChecked, type LabHost, type ProcessRef } from './lab-host.js';
import {
  labDir,
  labNames,
  labsDir,
  readLabState,
  writeLabState,
  type LabNode,
  type LabState,
} from './lab-state.js';
import { launchNode } from './launcher.js';
import { mountsUnder } from './mounts.js';
import { withLabLock } from './lab-lock.js';
import { claimLabName, defaultClaimDir, readClaim, releaseClaim } from './claim.js';
import {
  bridgeName,
  hubNetnsName,
  hubVethName,
  labObjectName,
  labObjectPattern,
  nodeLinkName,
  nodeNames,
  validateLabName,
} from './names.js';
import { defaultLabSubnet, formatSubnet, nodeAddresses, parseLabSubnet } from './subnet.js';

export interface LabContext {
  /** The host's data-root: its image store is the source, labs live in <dataRoot>/labs. */
  dataRoot: string;
  host: LabHost;
  cgroups: CgroupRoot;
  /** Where lab names are claimed host-wide; defaultClaimDir unless a test isolates itself. */
  claimDir?: string;
  /** Aborting it (Ctrl-C) stops a create at its next step, which then rolls back. */
  signal?: AbortSignal;
  /** Progress lines for a person watching (`lab create` prints them on stderr). */
  progress?: (line: string) => void;
}

/** The bridge-family table in the hub that cuts links: a port whose name is in @cut drops. */
const partitionTable = 'tsswarm_lab';
const partitionRules = `table bridge ${partitionTable} {
  set cut { type ifname; }
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname @cut drop
    oifname @cut drop
  }
}
`;

// sun_path is 108 bytes with its terminating NUL.
const maxSocketPath = 107;
const apiPort = 2377;

const netnsPath = (ns: string): string => `/run/netns/${ns}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listNetns(host: LabHost): Promise<string[]> {
  const out = (await runChecked(host, 'ip', ['-j', 'netns', 'list'])).trim();
  if (out === '') return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

function planNodes(dataRoot: string, lab: string, subnet: string, c: LabConfig): LabNode[] {
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

async function usedSubnets(dataRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of labNames(dataRoot)) {
    const s = await readLabState(dataRoot, n).catch(() => undefined);
    if (s) out.push(s.subnet);
  }
  return out;
}

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
  for (const ref of config.images) {
    // Resolve before anything is made, so a missing image changes nothing.
    await hostImages.resolve(ref).catch((err: unknown) => {
      throw err instanceof TsswarmError && err.code === ErrorCode.NotFound
        ? notFound(
            `image ${ref} is not in ${ctx.dataRoot}: import it first (scripts/setup.sh makes busybox:latest)`,
          )
        : err;
    });
  }

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

async function buildNetwork(host: LabHost, state: LabState): Promise<void> {
  const hub = state.hubNetns;
  const prefix = state.subnet.split('/')[1] ?? '24';
  // One `ip -batch` per namespace: a lab of 5 nodes takes ~4 spawns per node, not ~10.
  const batch = (lines: string[]) => `${lines.join('\n')}\n`;
  await runChecked(
    host,
    'ip',
    ['-batch', '-'],
    batch([hub, ...state.nodes.map((n) => n.netns)].map((ns) => `netns add ${ns}`)),
  );
  await runChecked(
    host,
    'ip',
    ['-n', hub, '-batch', '-'],
    batch([
      'link set lo up',
      `link add ${bridgeName} type bridge`,
      `link set ${bridgeName} up`,
      // The veth is born in the hub with its peer already in the node: no device ever
      // appears in the host's namespace, not even for a moment.
      ...state.nodes.flatMap((n) => [
        `link add ${n.hubVeth} type veth peer name ${nodeLinkName} netns ${n.netns}`,
        `link set ${n.hubVeth} master ${bridgeName} up`,
      ]),
    ]),
  );
  await runChecked(
    host,
    'nsenter',
    [`--net=${netnsPath(hub)}`, '--', 'nft', '-f', '-'],
    partitionRules,
  );
  for (const n of state.nodes) {
    await runChecked(
      host,
      'ip',
      ['-n', n.netns, '-batch', '-'],
      batch([
        'link set lo up',
        `addr add ${n.address}/${prefix} dev ${nodeLinkName}`,
        `link set ${nodeLinkName} up`,
      ]),
    );
    await mkdir(dirname(n.utsFile), { recursive: true });
    await writeFile(n.utsFile, '');
    await runChecked(host, 'unshare', [`--uts=${n.utsFile}`, 'hostname', n.hostname]);
    // Tasks' bridges and the routing mesh forward between interfaces, as on a real host.
    await runChecked(host, 'nsenter', [
      `--net=${netnsPath(n.netns)}`,
      '--',
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
    ]);
  }
}

async function copyImages(
  ctx: LabContext,
  state: LabState,
  hostImages: ImageStore,
  refs: readonly string[],
): Promise<void> {
  for (const n of state.nodes) {
    await mkdir(n.dataRoot, { recursive: true });
    await mkdir(n.execRoot, { recursive: true });
  }
  const [first, ...rest] = state.nodes;
  if (refs.length === 0 || first === undefined) return;
  // One `image save`, one import: the archive format is the store's public contract.
  const archive = join(labDir(ctx.dataRoot, state.name), 'images.tar');
  try {
    await hostImages.save([...refs], archive);
    await (await ImageStore.open(first.dataRoot)).import(archive);
    for (const n of rest) {
      if (!(await cloneStore(ctx.host, first.dataRoot, n.dataRoot))) {
        await (await ImageStore.open(n.dataRoot)).import(archive);
      }
    }
  } finally {
    await rm(archive, { force: true });
  }
}

/**
 * Copies a freshly imported image store by hard links (~30 ms instead of ~0.5 s of fsynced
 * import per node). Sound because the store never writes a file in place: layers and blobs are
 * immutable and its indexes are replaced by rename (src/runtime/image/README.md), so no node
 * can change another's. False when links cannot be made (another filesystem): import instead.
 */
async function cloneStore(host: LabHost, from: string, to: string): Promise<boolean> {
  const src = join(from, 'images');
  const dst = join(to, 'images');
  const r = await host.run('cp', ['-a', '--link', src, dst]);
  if (r.code === 0) return true;
  await rm(dst, { recursive: true, force: true });
  return false;
}

function expand(argv: readonly string[], n: LabNode): string[] {
  const values: Record<string, string> = {
    node: n.name,
    address: n.address,
    dataRoot: n.dataRoot,
    execRoot: n.execRoot,
    socket: n.socket,
  };
  return argv.map((a) =>
    a.replace(/\{(node|address|dataRoot|execRoot|socket)\}/g, (_, k: string) => values[k] ?? ''),
  );
}

/** Launches the node's process; resolves, with a waiter for its API socket, once it runs. */
async function startNodeProcess(
  ctx: LabContext,
  state: LabState,
  node: LabNode,
  readyTimeoutMs: number,
): Promise<{ ready: () => Promise<void> }> {
  const command = state.nodeCommand as NodeCommand;
  const procsFiles = await createNodeCgroup(ctx.cgroups, node.cgroupParent);
  await rm(node.socket, { force: true });
  const ref = launchNode(ctx.host, {
    netnsPath: netnsPath(node.netns),
    utsPath: node.utsFile,
    argv: expand(command.argv, node),
    env: {
      TSSWARM_DATA_ROOT: node.dataRoot,
      TSSWARM_EXEC_ROOT: node.execRoot,
      TSSWARM_CGROUP_PARENT: node.cgroupParent,
      // Names the overlay DNS does not own stay inside the lab: no resolver of the host.
      TSSWARM_DNS_UPSTREAMS: '',
    },
    logFile: node.logFile,
    cgroupProcsFiles: procsFiles,
  });
  node.process = ref;
  return {
    ready: () =>
      command.waitForSocket
        ? waitForSocket(ctx.host, node, ref, readyTimeoutMs, ctx.signal)
        : Promise.resolve(),
  };
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const interrupted = (what: string): TsswarmError =>
  new TsswarmError(ErrorCode.Unavailable, `${what}: interrupted; removing what was made`);

function checkpoint(ctx: LabContext, what: string): void {
  if (ctx.signal?.aborted === true) throw interrupted(`lab ${what}`);
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-5).join('\n');
}

async function waitForSocket(
  host: LabHost,
  node: LabNode,
  ref: ProcessRef,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(host, ref)) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        `${node.name}: the daemon exited during start-up; ${node.logFile} ends with:\n${await logTail(node.logFile)}`,
      );
    }
    if (await canConnect(node.socket)) return;
    if (signal?.aborted === true) throw interrupted(node.name);
    if (Date.now() > deadline) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        `${node.name}: no API on ${node.socket} after ${timeoutMs} ms; see ${node.logFile}`,
      );
    }
    await sleep(50);
  }
}

async function tsswarmOn(
  ctx: LabContext,
  c: LabConfig,
  node: LabNode,
  args: string[],
): Promise<string> {
  const [cmd, ...prefix] = c.tsswarmArgv;
  if (cmd === undefined) throw invalidArgument('tsswarmArgv is empty');
  const r = await ctx.host.run(cmd, [...prefix, '-H', `unix://${node.socket}`, ...args]);
  if (r.code !== 0) {
    throw new TsswarmError(
      ErrorCode.Unavailable,
      `${node.name}: tsswarm ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  }
  return r.stdout.trim();
}

async function formCluster(
  ctx: LabContext,
  c: LabConfig,
  nodes: LabNode[],
  say: (line: string) => void,
): Promise<void> {
  const [first, ...rest] = nodes;
  if (!first) return;
  await tsswarmOn(ctx, c, first, ['swarm', 'init', '--advertise-addr', first.address]);
  say(`lab: ${first.name} initialised the swarm`);
  if (c.cluster !== 'full') return;
  const tokens = {
    manager: await tsswarmOn(ctx, c, first, ['swarm', 'join-token', 'manager', '-q']),
    worker: await tsswarmOn(ctx, c, first, ['swarm', 'join-token', 'worker', '-q']),
  };
  // One at a time: raft changes membership one server per step.
  for (const n of rest) {
    if (ctx.signal?.aborted === true) throw interrupted(`joining ${n.name}`);
    await tsswarmOn(ctx, c, n, [
      'swarm',
      'join',
      '--token',
      tokens[n.role],
      '--advertise-addr',
      n.address,
      `${first.address}:${apiPort}`,
    ]);
    say(`lab: ${n.name} joined as ${n.role}`);
  }
}

async function readyLab(ctx: LabContext, name: string): Promise<LabState> {
  validateLabName(name);
  const state = await readLabState(ctx.dataRoot, name);
  if (!state) throw notFound(`no lab ${name} in ${labsDir(ctx.dataRoot)}`);
  if (state.phase !== 'ready') {
    throw conflict(`lab ${name} was not created completely; remove it with tsswarm lab rm ${name}`);
  }
  return state;
}

function findNode(state: LabState, node: string): LabNode {
  const n = state.nodes.find((x) => x.name === node);
  if (!n) {
    throw notFound(
      `lab ${state.name} has no node ${node} (nodes: ${state.nodes.map((x) => x.name).join(', ')})`,
    );
  }
  return n;
}

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

/** Kills what is left in the given namespaces and cgroup trees; a few rounds for forks. */
async function killLeftovers(
  ctx: LabContext,
  namespaces: Iterable<string>,
  cgroups: Iterable<string>,
): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const pids = new Set<number>();
    for (const ns of namespaces) for (const p of await pidsInNetns(ctx.host, ns)) pids.add(p);
    for (const cg of cgroups) {
      for (const d of nodeCgroupDirs(ctx.cgroups, cg)) for (const p of pidsInTree(d)) pids.add(p);
    }
    if (pids.size === 0) return;
    await killAll(ctx.host, pids);
  }
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

/** Read-modify-write of lab.json under the lab's lock, so concurrent verbs lose no change. */
async function updateLabState(
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

async function setPartitioned(
  ctx: LabContext,
  lab: string,
  node: string,
  cut: boolean,
): Promise<void> {
  const state = await readyLab(ctx, lab);
  const n = findNode(state, node);
  const nft = (args: string[]) =>
    ctx.host.run('nsenter', [`--net=${netnsPath(state.hubNetns)}`, '--', 'nft', ...args]);
  const listed = await nft(['-j', 'list', 'set', 'bridge', partitionTable, 'cut']);
  if (listed.code !== 0) throw new TsswarmError(ErrorCode.Internal, `nft: ${listed.stderr.trim()}`);
  const doc = JSON.parse(listed.stdout) as { nftables: { set?: { elem?: string[] } }[] };
  const present = doc.nftables.some((e) => e.set?.elem?.includes(n.hubVeth) === true);
  if (present !== cut) {
    const verb = cut ? 'add' : 'delete';
    const r = await nft([verb, 'element', 'bridge', partitionTable, 'cut', `{ "${n.hubVeth}" }`]);
    if (r.code !== 0) throw new TsswarmError(ErrorCode.Internal, `nft ${verb}: ${r.stderr.trim()}`);
  }
  await updateLabState(ctx, lab, (s) => (findNode(s, node).partitioned = cut));
}

/** Cuts the node's link at the hub: its frames are dropped both ways, its own netns untouched. */
export const partitionNode = (ctx: LabContext, lab: string, node: string): Promise<void> =>
  setPartitioned(ctx, lab, node, true);
export const healNode = (ctx: LabContext, lab: string, node: string): Promise<void> =>
  setPartitioned(ctx, lab, node, false);

/**
 * Containers of the lab's nodes: runc state under each node's exec-root. Their processes sit
 * in their own namespaces and (until the daemon takes a cgroup parent) outside the node's
 * cgroup, so only runc knows them. Runs after the daemons are dead, so none is restarted.
 */
async function removeContainers(host: LabHost, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const node of readdirSync(dir, { withFileTypes: true })) {
    if (node.isDirectory()) await deleteContainers(host, join(dir, node.name, 'exec', 'runc'));
  }
}

async function deleteContainers(host: LabHost, runcRoot: string): Promise<void> {
  if (!existsSync(runcRoot)) return;
  const listed = await host.run('runc', ['--root', runcRoot, 'list', '-q']);
  for (const id of listed.stdout.split('\n').filter((l) => l.trim() !== '')) {
    await host.run('runc', ['--root', runcRoot, 'delete', '--force', id]);
  }
}

async function killAll(host: LabHost, pids: Iterable<number>): Promise<void> {
  const refs: ProcessRef[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const startTime = host.startTimeOf(pid);
    if (startTime !== undefined) refs.push({ pid, startTime });
  }
  await Promise.all(refs.map((r) => killProcess(host, r)));
}

async function pidsInNetns(host: LabHost, ns: string): Promise<number[]> {
  const r = await host.run('ip', ['netns', 'pids', ns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/**
 * Removes lab `name` and everything it made, from its lab.json and, for what a crash left
 * unrecorded, by its names' pattern. Processes go first (the recorded daemons, then anything
 * still in the lab's namespaces or cgroups: the lab made those, so what is inside is its own),
 * then mounts, namespaces (taking the veths, bridge and nft tables with them), cgroups, dirs.
 * Returns false when there was nothing to remove.
 */
export async function removeLab(ctx: LabContext, name: string): Promise<boolean> {
  validateLabName(name);
  const dir = labDir(ctx.dataRoot, name);
  const claimDir = ctx.claimDir ?? defaultClaimDir;
  const holder = await readClaim(claimDir, name);
  if (holder !== undefined && holder !== dir) {
    // The kernel objects of this name are another data-root's lab: only our dir is ours.
    if (!existsSync(dir)) return false;
    for (const m of mountsUnder(dir)) await runChecked(ctx.host, 'umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
    return true;
  }
  const state = await readLabState(ctx.dataRoot, name).catch(() => undefined);
  const pattern = labObjectPattern(name);
  const namespaces = new Set((await listNetns(ctx.host)).filter((n) => pattern.test(n)));
  const cgroups = new Set(findCgroups(ctx.cgroups, pattern));
  if (!existsSync(dir) && namespaces.size === 0 && cgroups.size === 0) {
    if (holder === dir) await releaseClaim(claimDir, name);
    return false;
  }

  for (const n of state?.nodes ?? []) {
    if (n.process !== null) await killProcess(ctx.host, n.process);
  }
  await killLeftovers(ctx, namespaces, cgroups);
  await removeContainers(ctx.host, dir);
  for (const m of mountsUnder(dir)) {
    const r = await ctx.host.run('umount', [m]);
    // Busy after every process of the lab is gone means an outside user: detach it anyway.
    if (r.code !== 0) await runChecked(ctx.host, 'umount', ['-l', m]);
  }
  for (const ns of namespaces) {
    const r = await ctx.host.run('ip', ['netns', 'del', ns]);
    if (r.code !== 0 && (await listNetns(ctx.host)).includes(ns)) {
      throw new TsswarmError(ErrorCode.Internal, `ip netns del ${ns}: ${r.stderr.trim()}`);
    }
  }
  for (const cg of cgroups) {
    for (const d of nodeCgroupDirs(ctx.cgroups, cg)) await removeTree(d);
  }
  await rm(dir, { recursive: true, force: true });
  await releaseClaim(claimDir, name);
  return true;
}
