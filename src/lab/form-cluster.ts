import { TsswarmError, ErrorCode, invalidArgument } from '../api/errors.js';
import type { LabConfig } from './lab-config.js';
import { interrupted, type LabContext } from './lab-context.js';
import type { LabNode } from './lab-state.js';

const apiPort = 2377;

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

/** `swarm init` on the first node, then (cluster `full`) every other node joins through the CLI. */
export async function formCluster(
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
