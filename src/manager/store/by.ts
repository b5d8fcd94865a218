import type { DesiredTaskState, NodeRole } from '../../api/index.js';
import { objectLabels, objectName, type StoreObject, type TableName } from './tables.js';
import type { Node, Task } from '../../api/index.js';

/**
 * The closed set of queries the store answers (swarmkit's `by.go`): anything else is a
 * filter over `all` in the caller, visible in review.
 */
export type CommonBy =
  | { by: 'all' }
  | { by: 'id'; id: string }
  | { by: 'idPrefix'; prefix: string }
  | { by: 'name'; name: string }
  | { by: 'namePrefix'; prefix: string }
  /** Objects whose labels hold `key` (with `value`, when given). */
  | { by: 'label'; key: string; value?: string };

export type TaskBy =
  | CommonBy
  | { by: 'serviceId'; serviceId: string }
  | { by: 'nodeId'; nodeId: string }
  | { by: 'slot'; serviceId: string; slot: number }
  | { by: 'desiredState'; state: DesiredTaskState };

export type NodeBy = CommonBy | { by: 'role'; role: NodeRole };

export type By = TaskBy | NodeBy;

export const all: CommonBy = { by: 'all' };

export function matches(table: TableName, obj: StoreObject, q: By): boolean {
  switch (q.by) {
    case 'all':
      return true;
    case 'id':
      return obj.ID === q.id;
    case 'idPrefix':
      return obj.ID.startsWith(q.prefix);
    case 'name':
      return objectName(table, obj)?.toLowerCase() === q.name.toLowerCase();
    case 'namePrefix':
      return (objectName(table, obj)?.toLowerCase() ?? '').startsWith(q.prefix.toLowerCase());
    case 'label': {
      const v = objectLabels(table, obj)[q.key];
      return v !== undefined && (q.value === undefined || v === q.value);
    }
    case 'serviceId':
      return table === 'tasks' && (obj as Task).ServiceID === q.serviceId;
    case 'nodeId':
      return table === 'tasks' && (obj as Task).NodeID === q.nodeId;
    case 'slot':
      return (
        table === 'tasks' &&
        (obj as Task).ServiceID === q.serviceId &&
        (obj as Task).Slot === q.slot
      );
    case 'desiredState':
      return table === 'tasks' && (obj as Task).DesiredState === q.state;
    case 'role':
      return table === 'nodes' && (obj as Node).Spec.Role === q.role;
  }
}
