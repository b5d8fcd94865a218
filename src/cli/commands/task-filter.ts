import { invalidArgument, type Task } from '../../api/index.js';

/** What a task filter looks at besides the task: names the rows print. */
export interface TaskNames {
  serviceName: string;
  nodeName: string;
}

export type TaskFilterKey = 'id' | 'name' | 'node' | 'desired-state' | 'label';

const desiredStates = ['running', 'shutdown', 'accepted'] as const;

/**
 * docker's `-f key=value` grammar for task listings (`service ps`, `stack ps`, `node ps`): the
 * same key given twice matches either value, different keys must all match. `id` is an id
 * prefix, `name` a prefix of the task name (`web.1`), `node` a node id or hostname,
 * `desired-state` running|shutdown|accepted, `label` a task label `key` or `key=value`.
 * `allowed` names the keys the command accepts, as docker's do; anything else is refused
 * before a request is sent.
 */
export function parseTaskFilters(
  filters: readonly string[],
  allowed: readonly TaskFilterKey[],
): (t: Task, names: TaskNames) => boolean {
  const wanted = new Map<TaskFilterKey, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = (eq < 0 ? f : f.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : f.slice(eq + 1);
    if (eq < 0 || value === '') {
      throw invalidArgument(`bad format of filter "${f}": expected key=value`);
    }
    if (!(allowed as readonly string[]).includes(key)) {
      throw invalidArgument(
        `invalid filter '${key}': this command filters by ${allowed.join(', ')}`,
      );
    }
    if (key === 'desired-state' && !(desiredStates as readonly string[]).includes(value)) {
      throw invalidArgument(
        `invalid filter 'desired-state=${value}': expected ${desiredStates.join(', ')}`,
      );
    }
    wanted.set(key as TaskFilterKey, [...(wanted.get(key as TaskFilterKey) ?? []), value]);
  }
  return (t, names) =>
    [...wanted].every(([key, values]) => values.some((v) => matches(key, v, t, names)));
}

function matches(key: TaskFilterKey, v: string, t: Task, names: TaskNames): boolean {
  switch (key) {
    case 'id':
      return t.ID.startsWith(v);
    case 'name':
      return `${names.serviceName}.${t.Slot > 0 ? t.Slot : t.NodeID}`.startsWith(v);
    case 'node':
      return t.NodeID === v || names.nodeName === v;
    case 'desired-state':
      // A task the orchestrator holds ready is meant to run: docker lists it as running.
      return v === 'running'
        ? t.DesiredState === 'running' || t.DesiredState === 'ready'
        : t.DesiredState === v;
    case 'label': {
      const eq = v.indexOf('=');
      const labels = t.Labels ?? {};
      return eq < 0 ? Object.hasOwn(labels, v) : labels[v.slice(0, eq)] === v.slice(eq + 1);
    }
  }
}
