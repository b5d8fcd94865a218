/** A committed raft entry as the raft library hands it to the state machine. */
export interface LogEntry {
  index: number;
  term: number;
  data: Uint8Array;
}

/**
 * The raft library's state-machine contract (src/manager/raft defines the same shape; it is
 * restated here so the store does not depend on the raft implementation).
 * `apply` is deterministic: no clock, randomness or I/O; `restore` replaces everything.
 */
export interface FSM<R = unknown> {
  apply(entry: LogEntry): R;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

/**
 * Where the store sends a transaction. The manager backs it with raft (resolves once the
 * entry is committed and applied locally); tests use `InMemoryProposer`.
 */
export interface Proposer {
  propose(data: Uint8Array): Promise<unknown>;
}
