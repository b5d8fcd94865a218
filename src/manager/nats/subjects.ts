/**
 * NATS subject names of the dispatch protocol. They belong in src/api (shared by manager and
 * worker); they live here until src/api takes them, because the permissions rendered into the
 * nats-server config (nats-config.ts) must be built from the very same names.
 *
 *   tsswarm.node.<nodeId>.<topic>        managers → one node (assignments, log requests)
 *   tsswarm.dispatcher.<nodeId>.<topic>  one node → managers (register, heartbeat, status, logs)
 *   _INBOX.<nodeId>.>                    that node's request/reply inboxes
 */
export const subjectRoot = 'tsswarm';

const tokenPattern = /^[A-Za-z0-9_-]+$/;

function token(value: string, what: string): string {
  // '.', '*', '>' and whitespace would change what a subject or a permission matches.
  if (!tokenPattern.test(value))
    throw new Error(`${what} ${JSON.stringify(value)} is not a valid NATS subject token`);
  return value;
}

export const subjects = {
  /** Where managers send to one node: `tsswarm.node.<nodeId>.<topic>`. */
  toNode: (nodeId: string, topic: NodeTopic): string =>
    `${subjectRoot}.node.${token(nodeId, 'node id')}.${topic}`,
  /** Where one node reports to the managers: `tsswarm.dispatcher.<nodeId>.<topic>`. */
  fromNode: (nodeId: string, topic: DispatcherTopic): string =>
    `${subjectRoot}.dispatcher.${token(nodeId, 'node id')}.${topic}`,
  /** Every subject a node may receive on. */
  allToNode: (nodeId: string): string => `${subjectRoot}.node.${token(nodeId, 'node id')}.>`,
  /** Every subject a node may publish on. */
  allFromNode: (nodeId: string): string =>
    `${subjectRoot}.dispatcher.${token(nodeId, 'node id')}.>`,
  /** What the dispatcher subscribes to: reports of every node. */
  allFromNodes: `${subjectRoot}.dispatcher.*.>`,
  /** Per-node inbox prefix (nats.js `inboxPrefix`), so a node cannot read others' replies. */
  inboxPrefix: (nodeId: string): string => `_INBOX.${token(nodeId, 'node id')}`,
  allInboxes: (nodeId: string): string => `_INBOX.${token(nodeId, 'node id')}.>`,
} as const;

export type NodeTopic = 'assignments' | 'logs' | (string & {});
export type DispatcherTopic = 'register' | 'heartbeat' | 'status' | 'logs' | (string & {});
