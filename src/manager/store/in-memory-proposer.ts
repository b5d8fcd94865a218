import type { FSM, LogEntry, Proposer } from './fsm.js';

/**
 * A one-node "raft" for tests and daemonless use: every proposal commits at once with the
 * next index. It keeps the log so tests can replay the same entries into another store.
 */
export class InMemoryProposer implements Proposer {
  readonly log: LogEntry[] = [];
  private nextIndex: number;
  private readonly term: number;

  constructor(
    private readonly fsm: FSM,
    options: { term?: number; firstIndex?: number } = {},
  ) {
    this.term = options.term ?? 1;
    this.nextIndex = options.firstIndex ?? 1;
  }

  propose(data: Uint8Array): Promise<unknown> {
    const entry: LogEntry = { index: this.nextIndex++, term: this.term, data };
    this.log.push(entry);
    return Promise.resolve(this.fsm.apply(entry));
  }
}
