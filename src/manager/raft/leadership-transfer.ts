import { conflict, invalidArgument } from '../../api/errors.js';
import { LeadershipLostError, RaftStoppedError } from './errors.js';
import type { Progress, RaftState, SendAppend } from './raft-state.js';

/**
 * Leadership transfer: the leader brings the target up to date, then tells it to campaign at
 * once (TimeoutNow). Proposals are refused meanwhile; the transfer ends when this leader steps
 * down (election resolves it) or after `leadershipTransferTimeoutMs`.
 */
export class LeadershipTransfer<R> {
  constructor(
    private readonly state: RaftState<R>,
    private readonly sendAppend: SendAppend,
  ) {}

  /** Hands leadership to `target` (or the most up-to-date voter). */
  start(target?: string): Promise<void> {
    const s = this.state;
    return new Promise<void>((resolve, reject) => {
      if (s.stopped) return reject(new RaftStoppedError(s.fatal ?? undefined));
      if (s.role !== 'leader') return reject(s.notLeader());
      if (s.transfer !== null)
        return reject(conflict('raft: a leadership transfer is already in progress'));
      let chosen: Progress | undefined;
      if (target !== undefined) {
        chosen = s.progress.get(target);
        if (chosen === undefined || chosen.server.suffrage !== 'voter') {
          return reject(
            invalidArgument(`raft: leadership transfer target ${target} is not a voter`),
          );
        }
      } else {
        for (const p of s.progress.values()) {
          if (p.server.suffrage !== 'voter') continue;
          if (chosen === undefined || p.match > chosen.match) chosen = p;
        }
        if (chosen === undefined) {
          return reject(invalidArgument('raft: no other voter to transfer leadership to'));
        }
      }
      const to = chosen.server.id;
      const timer = s.clock.setTimeout(
        () =>
          s.guard(() =>
            this.abort(new LeadershipLostError(`raft: leadership transfer to ${to} timed out`)),
          ),
        s.config.leadershipTransferTimeoutMs,
      );
      s.transfer = { target: to, timer, timeoutSent: false, resolve, reject };
      s.logger.info({ 'raft.target': to }, 'leadership transfer started');
      this.maybeSendTimeoutNow(chosen);
    });
  }

  maybeSendTimeoutNow(p: Progress): void {
    const s = this.state;
    const t = s.transfer;
    if (t === null || t.timeoutSent || t.target !== p.server.id) return;
    if (p.match >= s.lastIndex()) {
      t.timeoutSent = true;
      s.transport.send(p.server, { type: 'timeout-now', term: s.term, from: s.id });
    } else {
      this.sendAppend(p, false);
    }
  }

  abort(e: Error): void {
    const s = this.state;
    const t = s.transfer;
    if (t === null) return;
    s.transfer = null;
    s.clock.clearTimeout(t.timer);
    t.reject(e);
  }
}
