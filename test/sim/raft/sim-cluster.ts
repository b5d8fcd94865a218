import path from 'node:path';
import {
  LeadershipLostError,
  MemoryLogStore,
  MemoryNetwork,
  MemorySnapshotStore,
  MemoryStableStore,
  NotLeaderError,
  RaftNode,
  defaultRaftConfig,
  type Configuration,
  openFileStores,
  type LogStore,
  type SnapshotStore,
  type StableStore,
  type Transport,
} from '../../../src/manager/raft/index.js';
import { FakeClock } from './fake-clock.js';
import { KvFsm, encodeKv, type KvCommand, type KvResult } from './kv-fsm.js';
import { checkKvHistory, type KvOperation } from './linearizability.js';
import { seededRandom } from '../../../src/scheduler/index.js';

export interface SimOptions {
  seed: number;
  nodes: 3 | 5;
  /** Simulated milliseconds of faults and client load before the calm phase. */
  chaosMs: number;
  clients: number;
  keys: number;
  /**
   * memory: stores that survive a crash whole, which is faithful because every store call is
   * durable on return. file: the real file stores in `dir`, closed on a crash and reopened
   * (recovery from disk) on restart.
   */
  storage?: { kind: 'memory' } | { kind: 'file'; dir: string };
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violations: string[];
  stats: {
    simulatedMs: number;
    acknowledgedWrites: number;
    unknownWrites: number;
    reads: number;
    elections: number;
    crashes: number;
    partitions: number;
    membershipChanges: number;
    snapshotsInstalled: number;
    messagesDelivered: number;
    messagesDropped: number;
    finalIndex: number;
  };
}

interface SimNode {
  id: string;
  log: LogStore;
  stable: StableStore;
  snapshots: SnapshotStore;
  fsm: KvFsm;
  transport: Transport;
  raft: RaftNode<KvResult> | null;
}

const heartbeatIntervalMs = 50;
const electionTimeoutMs = 300;

/**
 * One seeded run: a cluster on the in-memory network under partitions, loss, duplication,
 * reordering, crashes and restarts, membership changes and snapshots, with clients writing and
 * reading. Everything random comes from the seed and time is the fake clock's, so a seed
 * replays the same run. The checks listed in the README run during and after it.
 */
export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const rand = seededRandom(options.seed);
  const netRand = seededRandom(options.seed ^ 0x5bd1e995);
  const clock = new FakeClock();
  const violations: string[] = [];
  const violate = (s: string): void => {
    if (violations.length < 20) violations.push(`t=${clock.now()} ${s}`);
  };
  const stats: SimResult['stats'] = {
    simulatedMs: 0,
    acknowledgedWrites: 0,
    unknownWrites: 0,
    reads: 0,
    elections: 0,
    crashes: 0,
    partitions: 0,
    membershipChanges: 0,
    snapshotsInstalled: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
    finalIndex: 0,
  };

  let lossRate = 0.02 + rand() * 0.08;
  let dupRate = rand() * 0.05;
  let maxDelayMs = 1 + Math.floor(rand() * 20);
  const network = new MemoryNetwork({
    schedule: (fn, ms) => {
      clock.setTimeout(fn, ms);
    },
    route: () => {
      if (netRand() < lossRate) return { deliver: false };
      // Independent random delays reorder messages on the same link.
      return {
        deliver: true,
        delayMs: Math.floor(netRand() * maxDelayMs),
        copies: netRand() < dupRate ? 2 : 1,
      };
    },
  });

  // Each safety mechanism must hold on its own, not only behind pre-vote and leases.
  const preVote = rand() < 0.7;
  const checkQuorum = rand() < 0.7;
  const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  const initial: Configuration = {
    servers: ids.map((id) => ({ id, address: id, suffrage: 'voter' })),
  };

  // Global observations shared by the invariant checks.
  const leaderOfTerm = new Map<number, string>();
  const appliedAt = new Map<number, { digest: string; data: string }>();
  const decoder = new TextDecoder();

  const nodes: SimNode[] = ids.map((id) => ({
    id,
    log: new MemoryLogStore(),
    stable: new MemoryStableStore(),
    snapshots: new MemorySnapshotStore(),
    fsm: new KvFsm(),
    transport: network.transport(id),
    raft: null,
  }));

  const recordApply = (id: string) => (index: number, digest: string, data: Uint8Array) => {
    const text = decoder.decode(data);
    const seen = appliedAt.get(index);
    if (seen === undefined) appliedAt.set(index, { digest, data: text });
    else if (seen.digest !== digest || seen.data !== text) {
      violate(`state machine safety: ${id} applied a different entry or state at index ${index}`);
    }
  };

  const storage = options.storage ?? { kind: 'memory' };
  if (storage.kind === 'file') {
    for (const n of nodes) {
      const fileStores = openFileStores(path.join(storage.dir, n.id));
      n.log = fileStores.logStore;
      n.stable = fileStores.stableStore;
      n.snapshots = fileStores.snapshotStore;
    }
  }

  const start = (n: SimNode): void => {
    if (storage.kind === 'file' && n.raft === null && stats.crashes > 0) {
      n.log.close();
      const fileStores = openFileStores(path.join(storage.dir, n.id));
      n.log = fileStores.logStore;
      n.stable = fileStores.stableStore;
      n.snapshots = fileStores.snapshotStore;
    }
    n.fsm = new KvFsm(recordApply(n.id));
    n.transport = network.transport(n.id);
    const config = {
      ...defaultRaftConfig(n.id),
      heartbeatIntervalMs,
      electionTimeoutMs,
      preVote,
      checkQuorum,
      leadershipTransferTimeoutMs: electionTimeoutMs,
      snapshotThreshold: 40,
      trailingLogs: 10,
      maxAppendEntries: 16,
      maxInflightAppends: 4,
    };
    const raft = new RaftNode<KvResult>({
      config,
      fsm: n.fsm,
      logStore: n.log,
      stableStore: n.stable,
      snapshotStore: n.snapshots,
      transport: n.transport,
      clock,
      random: seededRandom(Math.floor(rand() * 2 ** 32)),
      bootstrap: initial,
    });
    raft.subscribe((e) => {
      if (e.type === 'snapshot' && e.source === 'leader') stats.snapshotsInstalled++;
      if (e.type !== 'leadership' || !e.isLeader) return;
      stats.elections++;
      const prior = leaderOfTerm.get(e.term);
      if (prior !== undefined && prior !== n.id) {
        violate(`election safety: ${prior} and ${n.id} both led term ${e.term}`);
      }
      leaderOfTerm.set(e.term, n.id);
      // Leader completeness: every entry some server applied must be in the new leader's log.
      const snapIndex = raft.stats().snapshotIndex;
      for (const [index, seen] of appliedAt) {
        if (index <= snapIndex) continue;
        const mine = n.log.get(index);
        if (mine === undefined || decoder.decode(mine.data) !== seen.data) {
          violate(
            `leader completeness: new leader ${n.id} (term ${e.term}) lacks committed index ${index}`,
          );
          break;
        }
      }
    });
    n.raft = raft;
    raft.start();
  };

  const crash = (n: SimNode): void => {
    if (n.raft === null) return;
    n.raft.stop();
    void n.transport.close();
    n.raft = null;
    stats.crashes++;
  };

  for (const n of nodes) start(n);

  // ------------------------------------------------------------------ clients
  const history: KvOperation[] = [];
  const acked: { index: number; data: string }[] = [];
  let clientsRunning = true;
  let valueSeq = 0;
  const live = (): SimNode[] => nodes.filter((n) => n.raft !== null);
  const leaderNode = (): SimNode | undefined => live().find((n) => n.raft!.isLeader());

  const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> =>
    new Promise((resolve, reject) => {
      const t = clock.setTimeout(() => resolve('timeout'), ms);
      p.then(
        (v) => {
          clock.clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clock.clearTimeout(t);
          reject(e as Error);
        },
      );
    });

  const runClient = async (client: number): Promise<void> => {
    let hint: string | null = null;
    while (clientsRunning) {
      await new Promise<void>((r) => clock.setTimeout(r, Math.floor(rand() * 20)));
      if (!clientsRunning) break;
      const candidates = live();
      if (candidates.length === 0) continue;
      const target =
        candidates.find((n) => n.id === hint) ??
        candidates[Math.floor(rand() * candidates.length)]!;
      const raft = target.raft!;
      const key = `k${Math.floor(rand() * options.keys)}`;
      const roll = rand();
      const call = clock.now();
      if (roll < 0.6) {
        const value = `v${valueSeq++}`;
        const cmd: KvCommand = { op: 'put', key, value };
        const data = encodeKv(cmd);
        const op: KvOperation = {
          client,
          key,
          kind: 'put',
          input: value,
          output: undefined,
          call,
          ret: Infinity,
        };
        try {
          const r = await withTimeout(raft.propose(data), 2000);
          if (r === 'timeout') {
            history.push(op);
            stats.unknownWrites++;
            hint = null;
            continue;
          }
          op.output = r.value;
          op.ret = clock.now();
          history.push(op);
          acked.push({ index: r.index, data: new TextDecoder().decode(data) });
          stats.acknowledgedWrites++;
        } catch (e) {
          if (e instanceof NotLeaderError) {
            hint = e.leaderId;
            continue;
          }
          // Appended but not known to be committed: it may take effect later or never.
          history.push(op);
          stats.unknownWrites++;
          hint = null;
        }
      } else {
        const viaLog = roll < 0.75;
        try {
          let value: string | null;
          if (viaLog) {
            const r = await withTimeout(raft.propose(encodeKv({ op: 'get', key })), 2000);
            if (r === 'timeout') continue;
            value = r.value;
          } else {
            const r = await withTimeout(raft.readBarrier(), 2000);
            if (r === 'timeout' || target.raft !== raft) continue;
            value = target.fsm.data.get(key) ?? null;
          }
          history.push({
            client,
            key,
            kind: 'get',
            input: null,
            output: value,
            call,
            ret: clock.now(),
          });
          stats.reads++;
        } catch (e) {
          if (e instanceof NotLeaderError) hint = e.leaderId;
          else if (!(e instanceof LeadershipLostError)) hint = null;
        }
      }
    }
  };
  const clientRuns = Array.from({ length: options.clients }, (_, i) => runClient(i));

  // ------------------------------------------------------------------ faults
  const pendingChanges = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    const q = p.catch(() => undefined);
    pendingChanges.add(q);
    void q.then(() => pendingChanges.delete(q));
  };
  const removed = new Set<string>();
  const nemesis = (): void => {
    if (clock.now() >= options.chaosMs) return;
    const roll = rand();
    const victim = nodes[Math.floor(rand() * nodes.length)]!;
    if (roll < 0.2) {
      network.heal();
      // Half the partitions strand the leader in a minority: the classic stale-leader setup.
      const l = leaderNode();
      const side =
        l !== undefined && rand() < 0.5
          ? [l.id]
          : nodes.filter(() => rand() < 0.4).map((n) => n.id);
      for (const a of side) for (const b of ids) if (!side.includes(b)) network.disconnect(a, b);
      stats.partitions++;
    } else if (roll < 0.35) {
      network.heal();
    } else if (roll < 0.5) {
      crash(victim);
    } else if (roll < 0.65) {
      for (const n of nodes) if (n.raft === null && rand() < 0.7) start(n);
    } else if (roll < 0.75) {
      const l = leaderNode();
      if (l !== undefined) {
        const voters = l.raft!.configuration().servers.filter((s) => s.suffrage === 'voter');
        const back = [...removed][0];
        if (back !== undefined) {
          removed.delete(back);
          track(rand() < 0.5 ? l.raft!.addVoter(back, back) : l.raft!.addNonVoter(back, back));
          stats.membershipChanges++;
        } else if (voters.length >= 3) {
          const out = voters[Math.floor(rand() * voters.length)]!.id;
          removed.add(out);
          track(l.raft!.removeServer(out));
          stats.membershipChanges++;
        }
      }
    } else if (roll < 0.82) {
      // Promote every non-voter so the cluster does not shrink for good.
      const l = leaderNode();
      const nv = l?.raft!.configuration().servers.find((s) => s.suffrage === 'nonvoter');
      if (l !== undefined && nv !== undefined) {
        track(l.raft!.addVoter(nv.id, nv.address));
        stats.membershipChanges++;
      }
    } else if (roll < 0.88) {
      const l = leaderNode();
      if (l !== undefined) track(l.raft!.leadershipTransfer());
    } else if (roll < 0.93) {
      const n = live()[Math.floor(rand() * live().length)];
      try {
        n?.raft!.snapshot();
      } catch {
        // Nothing applied yet.
      }
    } else {
      lossRate = rand() * 0.15;
      dupRate = rand() * 0.05;
      maxDelayMs = 1 + Math.floor(rand() * 30);
    }
    clock.setTimeout(nemesis, 100 + Math.floor(rand() * 600));
  };
  clock.setTimeout(nemesis, 200);

  await clock.runUntil(options.chaosMs, () => violations.length > 0);

  // ------------------------------------------------------------------ calm: heal and converge
  clientsRunning = false;
  network.heal();
  lossRate = 0;
  dupRate = 0;
  maxDelayMs = 5;
  for (const n of nodes) if (n.raft === null) start(n);
  await clock.runUntil(clock.now() + 2000);
  // Bring every server back as a voter so all of them must converge.
  for (let round = 0; round < 20; round++) {
    const l = leaderNode();
    if (l !== undefined) {
      const servers = l.raft!.configuration().servers;
      const missing = ids.find((id) => !servers.some((s) => s.id === id && s.suffrage === 'voter'));
      if (missing === undefined && pendingChanges.size === 0) break;
      if (missing !== undefined) track(l.raft!.addVoter(missing, missing));
    }
    await clock.runUntil(clock.now() + 500);
  }
  await Promise.all(clientRuns);

  // A final write through the leader commits every entry of earlier terms everywhere.
  let finalWrite = false;
  for (let attempt = 0; attempt < 40 && !finalWrite; attempt++) {
    const l = leaderNode();
    if (l !== undefined) {
      const p = l.raft!.propose(encodeKv({ op: 'put', key: 'final', value: 'final' }));
      p.then(
        () => (finalWrite = true),
        () => undefined,
      );
    }
    await clock.runUntil(clock.now() + 500);
  }
  if (!finalWrite) violate('liveness: no write succeeded in the calm phase after healing');
  await clock.runUntil(clock.now() + 2000);
  stats.simulatedMs = clock.now();
  stats.messagesDelivered = network.delivered;
  stats.messagesDropped = network.dropped;

  // ------------------------------------------------------------------ final checks
  const members = live();
  const applied = members.map((n) => n.raft!.stats().appliedIndex);
  stats.finalIndex = Math.max(...applied);
  if (finalWrite) {
    for (const n of members) {
      const s = n.raft!.stats();
      if (s.appliedIndex !== stats.finalIndex) {
        violate(`convergence: ${n.id} applied ${s.appliedIndex}, others ${stats.finalIndex}`);
      }
    }
    const digests = new Set(members.map((n) => `${n.fsm.appliedIndex}:${n.fsm.digest}`));
    if (digests.size > 1)
      violate(`FSM divergence at equal applied index: ${[...digests].join(', ')}`);
  }
  checkLogMatching(members, violate);
  for (const a of acked) {
    const seen = appliedAt.get(a.index);
    if (seen === undefined || seen.data !== a.data || a.index > stats.finalIndex) {
      violate(`lost write: acknowledged entry ${a.index} (${a.data}) is not in the committed log`);
    }
  }
  const lin = checkKvHistory(history);
  if (!lin.ok) {
    violate(
      `history of key ${lin.key} is not linearizable: ${JSON.stringify(lin.operations.slice(0, 40))}`,
    );
  }
  for (const n of nodes) {
    if (n.raft !== null) stats.crashes--;
    crash(n);
    n.log.close();
  }
  return { seed: options.seed, ok: violations.length === 0, violations, stats };
}

/** Log matching: if two logs hold an entry with the same index and term, all earlier entries agree. */
function checkLogMatching(nodes: SimNode[], violate: (s: string) => void): void {
  const decoder = new TextDecoder();
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i]!;
      const b = nodes[j]!;
      const lo = Math.max(a.log.firstIndex(), b.log.firstIndex(), 1);
      const hi = Math.min(a.log.lastIndex(), b.log.lastIndex());
      let matched = -1;
      for (let k = hi; k >= lo; k--) {
        if (a.log.get(k)?.term === b.log.get(k)?.term) {
          matched = k;
          break;
        }
      }
      for (let k = lo; k <= matched; k++) {
        const x = a.log.get(k)!;
        const y = b.log.get(k)!;
        if (
          x.term !== y.term ||
          x.type !== y.type ||
          decoder.decode(x.data) !== decoder.decode(y.data)
        ) {
          violate(
            `log matching: ${a.id} and ${b.id} differ at ${k} below matching index ${matched}`,
          );
          return;
        }
      }
    }
  }
}
