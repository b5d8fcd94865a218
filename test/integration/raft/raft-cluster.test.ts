import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../helpers/until.js';
import { RaftProcessCluster } from './raft-processes.js';

/**
 * Three raft servers as real processes on loopback TCP with mutual TLS. Writes run without
 * pause while the leader is SIGKILLed and restarted several times; afterwards every write that
 * was acknowledged must be on every server.
 */
describe('raft across real processes', () => {
  let cluster: RaftProcessCluster | undefined;
  afterAll(async () => {
    if (cluster !== undefined) {
      await cluster.stopAll();
      cluster.cleanup();
    }
  });

  it('keeps every acknowledged write through repeated leader SIGKILLs', async () => {
    cluster = await RaftProcessCluster.create(3);
    const c = cluster;
    c.startAll();
    await c.waitForLeader(20_000);

    const acked = new Map<string, string>();
    let seq = 0;
    let writing = true;
    let target = c.ids[0]!;
    const writer = async (): Promise<void> => {
      while (writing) {
        const key = `w${seq++}`;
        const value = `v${seq}`;
        const r = await c.put(target, key, value);
        if (r !== null && 'index' in r) {
          acked.set(key, value);
        } else {
          if (r !== null && r.redirect !== null) target = r.redirect;
          else target = c.ids[Math.floor(Math.random() * c.ids.length)]!;
          await new Promise((res) => setTimeout(res, 10));
        }
      }
    };
    const writers = [writer(), writer(), writer()];

    const waitForAcks = async (n: number, ms: number): Promise<void> => {
      const target = acked.size + n;
      await until(() => acked.size >= target, {
        what: `${n} more writes acknowledged`,
        timeoutMs: ms,
      });
    };

    try {
      await waitForAcks(50, 15_000);
      for (let round = 0; round < 3; round++) {
        const leader = await c.waitForLeader(10_000);
        await c.kill(leader);
        await waitForAcks(30, 15_000);
        c.start(leader);
        await waitForAcks(30, 15_000);
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }

    // Every server, restarted ones included, must converge on all acknowledged writes.
    const deadline = Date.now() + 20_000;
    const missingOn = async (id: string): Promise<number> => {
      const dump = await c
        .request<{ appliedIndex: number; data: Record<string, string> }>(id, 'GET', '/dump')
        .catch(() => null);
      return dump === null
        ? acked.size
        : [...acked].filter(([k, v]) => dump.body.data[k] !== v).length;
    };
    for (const id of c.ids) {
      await until(() => missingOn(id), {
        what: `${id} to hold all ${acked.size} acknowledged writes (value: how many it lacks)`,
        accept: (missing) => missing === 0,
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: 50,
      }).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${c.logs(id)}`);
      });
    }
    expect(acked.size).toBeGreaterThan(200);
  }, 120_000);
});
