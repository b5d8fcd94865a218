import { conflict, invalidArgument } from '../../api/errors.js';
import { checkConfiguration, encodeConfiguration } from './configuration.js';
import type { RaftState } from './raft-state.js';
import type { Replication } from './replication.js';
import type { Server } from './types.js';

/**
 * Membership changes, one server at a time: each is a config entry that takes effect when
 * appended (see replication), and commits like any other entry.
 */
export class Membership<R> {
  constructor(
    private readonly state: RaftState<R>,
    private readonly replication: Replication<R>,
  ) {}

  addVoter(id: string, address: string): Promise<void> {
    return this.changeConfiguration((servers) => {
      const others = servers.filter((s) => s.id !== id);
      return [...others, { id, address, suffrage: 'voter' }];
    });
  }

  addNonVoter(id: string, address: string): Promise<void> {
    return this.changeConfiguration((servers) => {
      const existing = servers.find((s) => s.id === id);
      // Demoting a voter goes through removeServer; addNonVoter never takes a vote away.
      if (existing?.suffrage === 'voter') return servers;
      const others = servers.filter((s) => s.id !== id);
      return [...others, { id, address, suffrage: 'nonvoter' }];
    });
  }

  removeServer(id: string): Promise<void> {
    return this.changeConfiguration((servers) => {
      if (!servers.some((s) => s.id === id)) {
        throw invalidArgument(`raft: server ${id} is not in the configuration`);
      }
      return servers.filter((s) => s.id !== id);
    });
  }

  private changeConfiguration(change: (servers: Server[]) => Server[]): Promise<void> {
    const s = this.state;
    return new Promise<void>((resolve, reject) => {
      const refusal = s.refuseWrite();
      if (refusal !== null) return reject(refusal);
      // One change at a time, and only once this leader has committed in its term: otherwise two
      // overlapping single-server changes could produce disjoint majorities.
      if (
        s.latestConfigIndex > s.commitIndex ||
        s.commitIndex < s.leaderStartIndex ||
        s.queue.some((q) => q.type === 'config')
      ) {
        return reject(
          conflict('raft: a configuration change is already in progress; retry when it commits'),
        );
      }
      let servers: Server[];
      try {
        servers = change(structuredClone(s.latestConfig.servers));
        checkConfiguration({ servers });
      } catch (e) {
        return reject(e as Error);
      }
      this.replication.enqueue({
        type: 'config',
        data: encodeConfiguration({ servers }),
        pending: { term: s.term, resolve: () => resolve(), reject },
      });
    });
  }
}
