import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimulation, type SimResult } from './sim-cluster.js';

// RAFT_SEED=<n> replays one run (both cluster sizes unless RAFT_NODES says which);
// RAFT_SIM_SEEDS=<n> changes how many seeds each size runs.
const replay = process.env.RAFT_SEED === undefined ? undefined : Number(process.env.RAFT_SEED);
const perSize = Number(process.env.RAFT_SIM_SEEDS ?? '150');
const sizes = (
  process.env.RAFT_NODES === undefined ? [3, 5] : [Number(process.env.RAFT_NODES)]
) as (3 | 5)[];

function describeFailure(r: SimResult, nodes: number): string {
  return [
    `seed ${r.seed} (${nodes} nodes) failed; replay with RAFT_SEED=${r.seed} RAFT_NODES=${nodes} npx vitest run test/sim/raft`,
    ...r.violations,
    `stats: ${JSON.stringify(r.stats)}`,
  ].join('\n');
}

describe('raft under simulated faults', () => {
  for (const nodes of sizes) {
    it(`${nodes} nodes: safety, convergence and linearizable histories over ${replay === undefined ? perSize : 1} seeds`, async () => {
      const seeds =
        replay === undefined
          ? Array.from({ length: perSize }, (_, i) => nodes * 100_000 + i)
          : [replay];
      let writes = 0;
      for (const seed of seeds) {
        const r = await runSimulation({ seed, nodes, chaosMs: 15_000, clients: 3, keys: 3 });
        if (!r.ok) {
          const text = describeFailure(r, nodes);
          console.error(text);
          expect.fail(text);
        }
        writes += r.stats.acknowledgedWrites;
      }
      expect(writes).toBeGreaterThan(seeds.length * 50);
    }, 180_000);
  }

  it('with the real file stores: crashes recover from disk', async () => {
    const seeds =
      replay === undefined ? Array.from({ length: 5 }, (_, i) => 900_000 + i) : [replay];
    for (const seed of seeds) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-sim-'));
      try {
        const r = await runSimulation({
          seed,
          nodes: 3,
          chaosMs: 10_000,
          clients: 3,
          keys: 3,
          storage: { kind: 'file', dir },
        });
        if (!r.ok) expect.fail(describeFailure(r, 3) + ' (file storage)');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 120_000);

  it('replays a seed exactly', async () => {
    const a = await runSimulation({ seed: 42, nodes: 3, chaosMs: 5000, clients: 2, keys: 2 });
    const b = await runSimulation({ seed: 42, nodes: 3, chaosMs: 5000, clients: 2, keys: 2 });
    expect(b.stats).toEqual(a.stats);
  });
});
