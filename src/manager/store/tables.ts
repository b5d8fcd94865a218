import type {
  Cluster,
  Config,
  Meta,
  Network,
  Node,
  Secret,
  Service,
  Task,
} from '../../api/index.js';

/** One table per object kind; the names double as event and snapshot keys. */
export interface StoreObjects {
  clusters: Cluster;
  nodes: Node;
  services: Service;
  tasks: Task;
  networks: Network;
  secrets: Secret;
  configs: Config;
}

export type TableName = keyof StoreObjects;
export type StoreObject = StoreObjects[TableName];

export const TABLE_NAMES: readonly TableName[] = [
  'clusters',
  'nodes',
  'services',
  'tasks',
  'networks',
  'secrets',
  'configs',
];

/** What a caller hands to `create`: the store stamps the version and the timestamps. */
export type NewObject<T extends Meta> = Omit<T, 'Version' | 'CreatedAt' | 'UpdatedAt'> &
  Partial<Pick<T, 'Version' | 'CreatedAt' | 'UpdatedAt'>>;

/** Tables whose objects have unique names (case-insensitive, as Docker compares them). */
const NAMED: ReadonlySet<TableName> = new Set([
  'clusters',
  'services',
  'networks',
  'secrets',
  'configs',
]);

export function uniqueName(table: TableName, obj: StoreObject): string | undefined {
  if (!NAMED.has(table)) return undefined;
  return (obj as { Spec: { Name: string } }).Spec.Name.toLowerCase();
}

/** The name `find({by: 'name'})` looks at: nodes go by Spec.Name, else hostname. */
export function objectName(table: TableName, obj: StoreObject): string | undefined {
  if (table === 'nodes') {
    const n = obj as Node;
    return n.Spec.Name ?? n.Description.Hostname;
  }
  if (table === 'tasks') return (obj as Task).Name;
  return (obj as { Spec: { Name: string } }).Spec.Name;
}

export function objectLabels(table: TableName, obj: StoreObject): Readonly<Record<string, string>> {
  if (table === 'tasks') return (obj as Task).Labels ?? {};
  return (obj as { Spec: { Labels?: Record<string, string> } }).Spec.Labels ?? {};
}
