import { createConnection } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsswarmError, ErrorCode } from '../api/errors.js';
import { createNodeCgroup, nodeCgroupDirs, pidsInTree } from './cgroups.js';
import type { NodeCommand } from './lab-config.js';
import { interrupted, type LabContext } from './lab-context.js';
import { isRunning, killProcess, type LabHost, type ProcessRef } from './lab-host.js';
import type { LabNode, LabState } from './lab-state.js';
import { launchNode } from './launcher.js';
import { netnsPath } from './network.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
export async function startNodeProcess(
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

/** Kills what is left in the given namespaces and cgroup trees; a few rounds for forks. */
export async function killLeftovers(
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

/**
 * Containers of the lab's nodes: runc state under each node's exec-root. Their processes sit
 * in their own namespaces and (until the daemon takes a cgroup parent) outside the node's
 * cgroup, so only runc knows them. Runs after the daemons are dead, so none is restarted.
 */
export async function removeContainers(host: LabHost, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const node of readdirSync(dir, { withFileTypes: true })) {
    if (node.isDirectory()) await deleteContainers(host, join(dir, node.name, 'exec', 'runc'));
  }
}

export async function deleteContainers(host: LabHost, runcRoot: string): Promise<void> {
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
