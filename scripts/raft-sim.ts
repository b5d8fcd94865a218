/**
 * Runs many seeds of the raft simulation and prints one JSON summary line.
 *   node_modules/.bin/tsx scripts/raft-sim.ts --seeds 5000 [--from 1] [--nodes 3|5|both] [--chaos-ms 15000]
 * A failing seed replays with RAFT_SEED=<seed> RAFT_NODES=<n> npx vitest run test/sim/raft.
 */
import { parseArgs } from 'node:util';
import { runSimulation } from '../test/sim/raft/sim-cluster.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    nodes: { type: 'string', default: 'both' },
    'chaos-ms': { type: 'string', default: '15000' },
  },
});
const seeds = Number(values.seeds);
const from = Number(values.from);
const chaosMs = Number(values['chaos-ms']);
if (!Number.isSafeInteger(seeds) || seeds <= 0)
  throw new Error(`--seeds must be a positive integer`);
if (!Number.isSafeInteger(from)) throw new Error(`--from must be an integer`);
if (!Number.isFinite(chaosMs) || chaosMs <= 0) throw new Error(`--chaos-ms must be positive`);
const sizes: (3 | 5)[] = values.nodes === 'both' ? [3, 5] : values.nodes === '5' ? [5] : [3];

const started = performance.now();
const failures: { seed: number; nodes: number; violations: string[] }[] = [];
const totals = {
  runs: 0,
  acknowledgedWrites: 0,
  reads: 0,
  elections: 0,
  crashes: 0,
  partitions: 0,
  membershipChanges: 0,
  snapshotsInstalled: 0,
};
for (let i = 0; i < seeds; i++) {
  const seed = from + i;
  const nodes = sizes[i % sizes.length]!;
  const r = await runSimulation({ seed, nodes, chaosMs, clients: 3, keys: 3 });
  totals.runs++;
  for (const k of [
    'acknowledgedWrites',
    'reads',
    'elections',
    'crashes',
    'partitions',
    'membershipChanges',
    'snapshotsInstalled',
  ] as const) {
    totals[k] += r.stats[k];
  }
  if (!r.ok) {
    failures.push({ seed, nodes, violations: r.violations.slice(0, 3) });
    process.stderr.write(`seed ${seed} (${nodes} nodes) FAILED: ${r.violations[0] ?? ''}\n`);
  }
}
console.log(
  JSON.stringify({
    seeds,
    from,
    passed: totals.runs - failures.length,
    failed: failures.length,
    failures: failures.slice(0, 20),
    totals,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  }),
);
process.exitCode = failures.length === 0 ? 0 : 1;
