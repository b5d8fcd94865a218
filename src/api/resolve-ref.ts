import { invalidArgument, notFound } from './errors.js';

/** A table as a reference is looked up in it (the manager's store tables have this shape). */
export interface RefIndex<T> {
  get(id: string): T | undefined;
  find(by: { by: 'name'; name: string } | { by: 'idPrefix'; prefix: string }): readonly T[];
}

/**
 * Docker's lookup of a swarm object by what a user typed: the full id, else the exact name,
 * else a unique id prefix. Two objects with that name, or two ids with that prefix, are
 * ambiguous. `kind` names the object in the messages (`node abc is ambiguous (2 matches
 * found)`, `node abc not found` unless the caller words it otherwise).
 */
export function resolveRef<T>(
  index: RefIndex<T>,
  ref: string,
  kind: string,
  notFoundMessage = `${kind} ${ref} not found`,
): T {
  const byId = index.get(ref);
  if (byId !== undefined) return byId;
  const byName = index.find({ by: 'name', name: ref });
  if (byName.length === 1 && byName[0] !== undefined) return byName[0];
  if (byName.length > 1) {
    throw invalidArgument(`${kind} ${ref} is ambiguous (${byName.length} matches found)`);
  }
  if (ref !== '') {
    const byPrefix = index.find({ by: 'idPrefix', prefix: ref });
    if (byPrefix.length === 1 && byPrefix[0] !== undefined) return byPrefix[0];
    if (byPrefix.length > 1) {
      throw invalidArgument(`${kind} ${ref} is ambiguous (${byPrefix.length} matches found)`);
    }
  }
  throw notFound(notFoundMessage);
}
