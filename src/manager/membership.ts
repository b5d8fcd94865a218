import type { Logger } from 'pino';
import type { ManagerStatus, Node, Reachability } from '../api/index.js';
import type { Configuration, RaftStats } from './raft/index.js';
import type { MemoryStore } from './store/index.js';

/** One raft membership change; raft takes them one at a time. */
export type MembershipAction =
  | { type: 'add-nonvoter'; id: string; address: string }
  | { type: 'promote'; id: string; address: string }
  | { type: 'remove'; id: string }
  | { type: 'transfer-leadership' };

export interface MembershipPlan {
  action: MembershipAction | undefined;
  /** ManagerStatus changes to write (leader flag, reachability; undefined: demoted, out of raft). */
  statuses: { id: string; status: ManagerStatus | undefined }[];
}

/**
 * What the leader should do next so that raft's voters are the store's managers, as swarmkit's
 * role manager does: a manager node enters as a non-voter and gets its vote once it has caught
 * up (so a joiner that never comes up does not cost the cluster its quorum); a node demoted or
 * removed leaves raft; the leader hands leadership away before removing itself.
 */
export function planMembership(input: {
  selfId: string;
  nodes: readonly Node[];
  configuration: Configuration;
  stats: Pick<RaftStats, 'commitIndex' | 'matchIndex' | 'lastContactAgoMs'>;
  /** A follower silent longer than this is unreachable. */
  unreachableAfterMs: number;
}): MembershipPlan {
  const { selfId, nodes, configuration, stats } = input;
  const wanted = new Map<string, string>();
  for (const n of nodes) {
    const addr = n.ManagerStatus?.RaftAddr;
    if (n.Spec.Role === 'manager' && addr) wanted.set(n.ID, addr);
  }
  const servers = configuration.servers;
  let action: MembershipAction | undefined;
  const otherVoters = servers.filter((s) => s.id !== selfId && s.suffrage === 'voter');
  for (const s of servers) {
    if (wanted.has(s.id)) continue;
    if (s.id !== selfId) {
      action = { type: 'remove', id: s.id };
      break;
    }
    // The last voter never leaves: the store refuses to demote the last manager anyway.
    if (otherVoters.length > 0) {
      action = { type: 'transfer-leadership' };
      break;
    }
  }
  if (!action) {
    for (const [id, address] of wanted) {
      const s = servers.find((x) => x.id === id);
      if (!s) {
        action = { type: 'add-nonvoter', id, address };
        break;
      }
      if (s.suffrage === 'nonvoter' && (stats.matchIndex[id] ?? 0) >= stats.commitIndex) {
        action = { type: 'promote', id, address };
        break;
      }
    }
  }

  const statuses: MembershipPlan['statuses'] = [];
  for (const n of nodes) {
    if (n.Spec.Role === 'worker' && n.ManagerStatus && !servers.some((x) => x.id === n.ID)) {
      statuses.push({ id: n.ID, status: undefined });
      continue;
    }
    if (n.Spec.Role !== 'manager' || !n.ManagerStatus) continue;
    const leader = n.ID === selfId;
    const ago = stats.lastContactAgoMs[n.ID];
    const reachability: Reachability = leader
      ? 'reachable'
      : ago === undefined
        ? 'unknown'
        : ago <= input.unreachableAfterMs
          ? 'reachable'
          : 'unreachable';
    if (n.ManagerStatus.Leader !== leader || n.ManagerStatus.Reachability !== reachability) {
      statuses.push({
        id: n.ID,
        status: { ...n.ManagerStatus, Leader: leader, Reachability: reachability },
      });
    }
  }
  return { action, statuses };
}

export interface RaftMembershipDeps {
  selfId: string;
  store: MemoryStore;
  raft: {
    configuration(): Configuration;
    stats(): RaftStats;
    addNonVoter(id: string, address: string): Promise<void>;
    addVoter(id: string, address: string): Promise<void>;
    removeServer(id: string): Promise<void>;
    leadershipTransfer(): Promise<void>;
  };
  unreachableAfterMs: number;
  periodMs: number;
  logger: Logger;
}

/** The leader's loop around planMembership: on node changes and every period. */
export class RaftMembership {
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly deps: RaftMembershipDeps) {
    this.log = deps.logger.child({ component: 'membership' });
  }

  start(): void {
    const watcher = this.deps.store.watch({ tables: ['nodes'], signal: this.abort.signal });
    void (async () => {
      try {
        for await (const e of watcher) {
          void e;
          this.kick();
        }
      } catch (err) {
        if (!this.stopped) this.log.warn({ err }, 'node watch ended');
      }
    })();
    this.timer = setInterval(() => this.kick(), this.deps.periodMs);
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.timer);
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: unknown) => this.log.warn({ err }, 'membership pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async pass(): Promise<void> {
    const { raft, store, selfId } = this.deps;
    const plan = planMembership({
      selfId,
      nodes: store.view((tx) => tx.nodes.find({ by: 'all' })),
      configuration: raft.configuration(),
      stats: raft.stats(),
      unreachableAfterMs: this.deps.unreachableAfterMs,
    });
    if (plan.statuses.length > 0) {
      await store.update((tx) => {
        for (const { id, status } of plan.statuses) {
          const n = tx.nodes.get(id);
          if (!n) continue;
          if (status) {
            tx.nodes.update({ ...n, ManagerStatus: status });
          } else {
            const { ManagerStatus: _gone, ...worker } = n;
            tx.nodes.update(worker);
          }
        }
      });
    }
    const a = plan.action;
    if (!a || this.stopped) return;
    this.log.info({ action: a }, 'raft membership change');
    switch (a.type) {
      case 'add-nonvoter':
        return raft.addNonVoter(a.id, a.address);
      case 'promote':
        return raft.addVoter(a.id, a.address);
      case 'remove':
        return raft.removeServer(a.id);
      case 'transfer-leadership':
        return raft.leadershipTransfer();
    }
  }
}
