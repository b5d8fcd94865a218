import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MemoryLogStore,
  MemoryNetwork,
  MemorySnapshotStore,
  MemoryStableStore,
  NotLeaderError,
  RaftCorruptionError,
  RaftNode,
  defaultRaftConfig,
  openFileStores,
  validateRaftConfig,
  type FSM,
  type RaftEvent,
  type RaftMessage,
} from '../../../../src/manager/raft/index.js';
import { FakeClock } from '../../../sim/raft/fake-clock.js';
import { KvFsm, encodeKv, type KvResult } from '../../../sim/raft/kv-fsm.js';
import { seededRandom } from '../../../../src/scheduler/index.js';

function cluster(
  ids: string[],
  options: {
    snapshotThreshold?: number;
    trailingLogs?: number;
    maxAppendEntries?: number;
    drop?: (from: string, to: string, m: RaftMessage) => boolean;
  } = {},
) {
  const clock = new FakeClock();
  const network = new MemoryNetwork({
    schedule: (fn, ms) => void clock.setTimeout(fn, ms + 1),
    route: (from, to, m) =>
      options.drop?.(from, to, m) === true
        ? { deliver: false }
        : { deliver: true, delayMs: 0, copies: 1 },
  });
  const rand = seededRandom(7);
  const bootstrap = { servers: ids.map((id) => ({ id, address: id, suffrage: 'voter' as const })) };
  const events: Record<string, RaftEvent[]> = {};
  const make = (id: string, withBootstrap: boolean) => {
    const fsm = new KvFsm();
    const node = new RaftNode<KvResult>({
      config: {
        ...defaultRaftConfig(id),
        heartbeatIntervalMs: 50,
        electionTimeoutMs: 300,
        leadershipTransferTimeoutMs: 300,
        snapshotThreshold: options.snapshotThreshold ?? 0,
        trailingLogs: options.trailingLogs ?? 10,
        maxAppendEntries: options.maxAppendEntries ?? 512,
      },
      fsm,
      logStore: new MemoryLogStore(),
      stableStore: new MemoryStableStore(),
      snapshotStore: new MemorySnapshotStore(),
      transport: network.transport(id),
      clock,
      random: seededRandom(Math.floor(rand() * 1e9)),
      ...(withBootstrap ? { bootstrap } : {}),
    });
    events[id] = [];
    node.subscribe((e) => events[id]!.push(e));
    node.start();
    return { id, node, fsm };
  };
  const nodes = ids.map((id) => make(id, true));
  const leader = () => nodes.filter((n) => n.node.isLeader());
  const run = (ms: number) => clock.runUntil(clock.now() + ms);
  const settle = async () => {
    for (let i = 0; i < 100 && leader().length !== 1; i++) await run(100);
    expect(leader()).toHaveLength(1);
    return leader()[0]!;
  };
  return { clock, network, nodes, leader, run, settle, make, events };
}

const put = (key: string, value: string) => encodeKv({ op: 'put', key, value });

describe('RaftNode', () => {
  it('a single server elects itself and applies proposals with typed results', async () => {
    const c = cluster(['a']);
    const l = await c.settle();
    const first = l.node.propose(put('x', '1'));
    const second = l.node.propose(put('x', '2'));
    await c.run(10);
    const r1: KvResult = await first;
    expect(r1.value).toBeNull();
    expect((await second).value).toBe('1');
    const read = l.node.readBarrier();
    await c.run(10);
    expect(await read).toBeGreaterThanOrEqual(r1.index);
    expect(c.events.a!.some((e) => e.type === 'leadership' && e.isLeader)).toBe(true);
  });

  it('a follower refuses proposals with the leader id and address', async () => {
    const c = cluster(['a', 'b', 'c']);
    const l = await c.settle();
    await c.run(200);
    const f = c.nodes.find((n) => n !== l)!;
    const err = await f.node.propose(put('x', '1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe(l.id);
    expect((err as NotLeaderError).leaderAddress).toBe(l.id);
    expect((err as NotLeaderError).code).toBe('TSS_NOT_LEADER');
  });

  it('replicates to every server and reports stats', async () => {
    const c = cluster(['a', 'b', 'c']);
    const l = await c.settle();
    const ps = Array.from({ length: 50 }, (_, i) => l.node.propose(put(`k${i % 5}`, `${i}`)));
    await c.run(500);
    await Promise.all(ps);
    const s = l.node.stats();
    expect(s.role).toBe('leader');
    for (const n of c.nodes) {
      expect(n.node.stats().appliedIndex).toBe(s.commitIndex);
      expect(n.fsm.digest).toBe(l.fsm.digest);
    }
  });

  it('a leader cut off from its quorum steps down (check-quorum)', async () => {
    const c = cluster(['a', 'b', 'c']);
    const l = await c.settle();
    c.network.isolate(l.id, ['a', 'b', 'c']);
    await c.run(800);
    expect(l.node.isLeader()).toBe(false);
    const others = c.nodes.filter((n) => n !== l && n.node.isLeader());
    expect(others).toHaveLength(1);
  });

  it('an isolated follower does not inflate its term (pre-vote) and does not disrupt on return', async () => {
    const c = cluster(['a', 'b', 'c']);
    const l = await c.settle();
    const f = c.nodes.find((n) => n !== l)!;
    const term = l.node.stats().term;
    c.network.isolate(f.id, ['a', 'b', 'c']);
    await c.run(3000);
    expect(f.node.stats().term).toBe(term);
    c.network.heal();
    await c.run(1000);
    expect(l.node.isLeader()).toBe(true);
    expect(l.node.stats().term).toBe(term);
  });

  it('transfers leadership to a chosen server', async () => {
    const c = cluster(['a', 'b', 'c']);
    const l = await c.settle();
    const target = c.nodes.find((n) => n !== l)!;
    const done = l.node.leadershipTransfer(target.id);
    await c.run(500);
    await done;
    expect(target.node.isLeader()).toBe(true);
    expect(l.node.isLeader()).toBe(false);
  });

  it('adds a server that catches up through InstallSnapshot, then removes the leader', async () => {
    const c = cluster(['a', 'b', 'c'], { snapshotThreshold: 20, trailingLogs: 5 });
    const l = await c.settle();
    const ps = Array.from({ length: 60 }, (_, i) => l.node.propose(put('k', `${i}`)));
    await c.run(500);
    await Promise.all(ps);
    expect(l.node.stats().snapshotIndex).toBeGreaterThan(0);
    const d = c.make('d', false);
    const added = l.node.addVoter('d', 'd');
    await c.run(1000);
    await added;
    expect(c.events.d!.some((e) => e.type === 'snapshot' && e.source === 'leader')).toBe(true);
    expect(d.fsm.data.get('k')).toBe('59');
    expect(
      l.node
        .configuration()
        .servers.map((s) => s.id)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd']);

    const removed = l.node.removeServer(l.id);
    await c.run(2000);
    await removed;
    expect(l.node.isLeader()).toBe(false);
    const next = [...c.nodes, d].filter((n) => n.node.isLeader());
    expect(next).toHaveLength(1);
    expect(next[0]!.node.configuration().servers.map((s) => s.id)).not.toContain(l.id);
  });

  it('does not commit an entry of an earlier term by counting replicas (Raft §5.4.2)', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    let blockIndex = -1;
    let leaderId = '';
    const c = cluster(ids, {
      maxAppendEntries: 1,
      drop: (from, to, m) =>
        m.type === 'append' &&
        from === leaderId &&
        m.entries.some((e) => e.index === blockIndex) &&
        // Only once the follower holds X: before that, this message is the probe it must refuse.
        (c.nodes.find((n) => n.id === to)?.node.stats().lastLogIndex ?? 0) >= blockIndex - 1,
    });
    const first = await c.settle();
    await c.run(200);
    const [second, , , fifth] = c.nodes.filter((n) => n !== first) as [
      (typeof c.nodes)[0],
      (typeof c.nodes)[0],
      (typeof c.nodes)[0],
      (typeof c.nodes)[0],
    ];
    // X reaches one follower only (2 of 5: not committed), then its leader dies.
    for (const id of ids)
      if (id !== first.id && id !== second.id) c.network.disconnect(first.id, id);
    void first.node.propose(put('x', 'old')).catch(() => undefined);
    await c.run(100);
    const xIndex = second.node.stats().lastLogIndex;
    expect(first.node.stats().commitIndex).toBeLessThan(xIndex);
    first.node.stop();
    c.network.isolate(first.id, ids);
    c.network.isolate(fifth.id, ids);
    // `second` wins (its log is longest) and appends its no-op at xIndex + 1; we hold that back,
    // so only the old-term entry X reaches a majority (second and the two others).
    leaderId = second.id;
    blockIndex = xIndex + 1;
    for (let i = 0; i < 50 && !second.node.isLeader(); i++) await c.run(100);
    expect(second.node.isLeader()).toBe(true);
    await c.run(300);
    const holders = c.nodes.filter((n) => n.node.stats().lastLogIndex >= xIndex && n !== first);
    expect(holders.length).toBeGreaterThanOrEqual(3);
    expect(second.node.stats().commitIndex).toBeLessThan(xIndex);
    blockIndex = -1;
    await c.run(300);
    expect(second.node.stats().commitIndex).toBeGreaterThanOrEqual(xIndex + 1);
  });

  it('refuses a second membership change while one is uncommitted', async () => {
    const c = cluster(['a', 'b', 'c']);
    const l = await c.settle();
    await c.run(100);
    const first = l.node.addNonVoter('x', 'x');
    await expect(l.node.addNonVoter('y', 'y')).rejects.toThrow(/already in progress/);
    await c.run(200);
    await first;
  });

  it('stops with the error when the FSM throws, and fails waiting requests', async () => {
    const c = cluster(['a']);
    const l = await c.settle();
    const boom: FSM<unknown> = {
      apply: () => {
        throw new Error('bug in apply');
      },
      snapshot: () => new Uint8Array(),
      restore: () => {},
    };
    // Swap the FSM's apply for one that throws.
    l.fsm.apply = boom.apply as typeof l.fsm.apply;
    const p = l.node.propose(put('x', '1'));
    await c.run(10);
    await expect(p).rejects.toThrow(/stopped/);
    const stopped = c.events.a!.find((e) => e.type === 'stopped');
    expect(stopped?.type === 'stopped' && stopped.error?.message).toBe('bug in apply');
  });
});

describe('RaftNode with file stores', () => {
  it('comes back with its log and state after a restart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-node-'));
    try {
      const clock = new FakeClock();
      const network = new MemoryNetwork({ schedule: (fn, ms) => void clock.setTimeout(fn, ms) });
      const open = () => {
        const stores = openFileStores(dir);
        const fsm = new KvFsm();
        const node = new RaftNode<KvResult>({
          config: defaultRaftConfig('a'),
          fsm,
          ...stores,
          transport: network.transport('a'),
          clock,
          bootstrap: { servers: [{ id: 'a', address: 'a', suffrage: 'voter' }] },
        });
        return { stores, node, fsm };
      };
      const first = open();
      expect(first.node.stats().lastLogIndex).toBe(1);
      first.stores.close();
      const again = open();
      expect(again.node.stats()).toMatchObject({ term: 1, lastLogIndex: 1 });
      again.stores.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a corrupt log, naming file and offset', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-node-'));
    try {
      const stores = openFileStores(dir);
      stores.logStore.append(
        Array.from({ length: 4 }, (_, i) => ({
          index: i + 1,
          term: 1,
          type: 'command' as const,
          data: new Uint8Array(8),
        })),
      );
      stores.close();
      const seg = path.join(dir, 'log', fs.readdirSync(path.join(dir, 'log'))[0]!);
      const buf = fs.readFileSync(seg);
      buf[8 + 4] = buf[8 + 4]! ^ 0xff;
      fs.writeFileSync(seg, buf);
      expect(() => openFileStores(dir)).toThrow(RaftCorruptionError);
      expect(() => openFileStores(dir)).toThrow(`${seg} at offset 8`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RaftNode forceNewCluster', () => {
  const config = (id: string) => ({
    ...defaultRaftConfig(id),
    heartbeatIntervalMs: 50,
    electionTimeoutMs: 300,
    leadershipTransferTimeoutMs: 300,
    snapshotThreshold: 20,
    trailingLogs: 5,
  });

  it('restarts a server of a cluster without quorum as the only voter, keeping its state', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-force-'));
    const opened: { close(): void }[] = [];
    try {
      const clock = new FakeClock();
      const network = new MemoryNetwork({
        schedule: (fn, ms) => void clock.setTimeout(fn, ms + 1),
      });
      const run = (ms: number) => clock.runUntil(clock.now() + ms);
      const ids = ['a', 'b', 'c'];
      const bootstrap = {
        servers: ids.map((id) => ({ id, address: id, suffrage: 'voter' as const })),
      };
      const open = (id: string, extra: { bootstrap?: typeof bootstrap; force?: boolean }) => {
        const stores = openFileStores(path.join(root, id));
        opened.push(stores);
        const fsm = new KvFsm();
        const node = new RaftNode<KvResult>({
          config: config(id),
          fsm,
          ...stores,
          transport: network.transport(id),
          clock,
          random: seededRandom(id.charCodeAt(0)),
          ...(extra.bootstrap ? { bootstrap: extra.bootstrap } : {}),
          ...(extra.force ? { forceNewCluster: { reason: 'test: quorum lost' } } : {}),
        });
        node.start();
        return { id, node, fsm, stores };
      };
      const nodes = ids.map((id) => open(id, { bootstrap }));
      for (let i = 0; i < 100 && !nodes.some((n) => n.node.isLeader()); i++) await run(100);
      let leader = nodes.find((n) => n.node.isLeader())!;
      const ps = Array.from({ length: 30 }, (_, i) => leader.node.propose(put('k', `${i}`)));
      await run(500);
      await Promise.all(ps);
      // Make "a" the survivor, then lose b and c for good.
      if (leader.id !== 'a') {
        const moved = leader.node.leadershipTransfer('a');
        await run(1000);
        await moved;
        leader = nodes[0]!;
      }
      expect(leader.node.isLeader()).toBe(true);
      expect(leader.node.stats().snapshotIndex).toBeGreaterThan(0);
      for (const n of nodes.slice(1)) n.node.stop();
      // Appended on "a" but never committed: no quorum is left to commit it.
      const late = leader.node.propose(put('late', 'x')).catch((e: unknown) => e);
      await run(2000);
      expect(leader.node.isLeader()).toBe(false);
      expect(await late).toBeInstanceOf(Error);
      leader.node.stop();
      leader.stores.close();

      // A plain restart stays without a leader: two voters are gone.
      const plain = open('a', {});
      await run(3000);
      expect(plain.node.isLeader()).toBe(false);
      plain.node.stop();
      plain.stores.close();

      const forced = open('a', { force: true });
      expect(forced.node.configuration().servers).toEqual([
        { id: 'a', address: 'a', suffrage: 'voter' },
      ]);
      for (let i = 0; i < 50 && !forced.node.isLeader(); i++) await run(100);
      expect(forced.node.isLeader()).toBe(true);
      await run(100);
      expect(forced.fsm.data.get('k')).toBe('29');
      expect(forced.fsm.data.get('late')).toBe('x');
      const next = forced.node.propose(put('k', 'after'));
      await run(100);
      expect((await next).value).toBe('29');
      forced.node.stop();
      forced.stores.close();

      // The change is durable: a later plain restart leads alone with the same state.
      const again = open('a', {});
      for (let i = 0; i < 50 && !again.node.isLeader(); i++) await run(100);
      expect(again.node.isLeader()).toBe(true);
      await run(100);
      expect(again.fsm.data.get('k')).toBe('after');
      again.node.stop();
    } finally {
      for (const s of opened) {
        try {
          s.close();
        } catch {
          // already closed
        }
      }
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('is refused on empty stores and together with bootstrap', () => {
    const clock = new FakeClock();
    const network = new MemoryNetwork({ schedule: (fn, ms) => void clock.setTimeout(fn, ms) });
    const base = {
      config: defaultRaftConfig('a'),
      fsm: new KvFsm(),
      transport: network.transport('a'),
      clock,
      forceNewCluster: { reason: 'test' },
    };
    const fresh = () => ({
      logStore: new MemoryLogStore(),
      stableStore: new MemoryStableStore(),
      snapshotStore: new MemorySnapshotStore(),
    });
    expect(() => new RaftNode({ ...base, ...fresh() })).toThrow(/needs existing state/);
    expect(
      () =>
        new RaftNode({
          ...base,
          ...fresh(),
          bootstrap: { servers: [{ id: 'a', address: 'a', suffrage: 'voter' }] },
        }),
    ).toThrow(/exclude each other/);
  });
});

describe('validateRaftConfig', () => {
  it('accepts the defaults', () => {
    expect(() => validateRaftConfig(defaultRaftConfig('a'))).not.toThrow();
  });
  it('names the bad field', () => {
    expect(() => validateRaftConfig({ ...defaultRaftConfig('a'), heartbeatIntervalMs: 0 })).toThrow(
      /heartbeatIntervalMs must be a positive integer/,
    );
    expect(() => validateRaftConfig({ ...defaultRaftConfig(''), heartbeatIntervalMs: 10 })).toThrow(
      /id must be/,
    );
    expect(() => validateRaftConfig({ ...defaultRaftConfig('a'), trailingLogs: -1 })).toThrow(
      /trailingLogs/,
    );
  });
  it('checks fields against each other', () => {
    expect(() =>
      validateRaftConfig({
        ...defaultRaftConfig('a'),
        heartbeatIntervalMs: 500,
        electionTimeoutMs: 1000,
      }),
    ).toThrow(/at least 3 × heartbeatIntervalMs/);
    expect(() =>
      validateRaftConfig({ ...defaultRaftConfig('a'), leadershipTransferTimeoutMs: 10 }),
    ).toThrow(/leadershipTransferTimeoutMs/);
  });
});
