import { afterAll, describe, expect, it } from 'vitest';
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
      const until = acked.size + n;
      const deadline = Date.now() + ms;
      while (acked.size < until) {
        if (Date.now() > deadline)
          throw new Error(`fewer than ${n} writes acknowledged within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
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
    for (const id of c.ids) {
      for (;;) {
        const dump = await c
          .request<{ appliedIndex: number; data: Record<string, string> }>(id, 'GET', '/dump')
          .catch(() => null);
        const missing =
          dump === null
            ? acked.size
            : [...acked].filter(([k, v]) => dump.body.data[k] !== v).length;
        if (missing === 0) break;
        if (Date.now() > deadline) {
          throw new Error(
            `${id} lacks ${missing} of ${acked.size} acknowledged writes\n${c.logs(id)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(acked.size).toBeGreaterThan(200);
  }, 120_000);
});
