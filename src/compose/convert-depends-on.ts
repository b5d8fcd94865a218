import { dependencies } from './checks.js';
import type { Converter } from './converter.js';
import { str } from './convert-values.js';
import { isObj, type Obj } from './normalize.js';

export type DependsOnCondition =
  'service_started' | 'service_healthy' | 'service_completed_successfully';

/** `service` waits for `dependsOn` (both compose keys, not service names) to reach `condition`. */
export interface DependsOnEdge {
  service: string;
  dependsOn: string;
  condition: DependsOnCondition;
  required: boolean;
  restart: boolean;
}

export function dependsOnEdges(c: Converter, name: string, svc: Obj): DependsOnEdge[] {
  const raw = svc['depends_on'];
  const known = c.section('services');
  const out: DependsOnEdge[] = [];
  for (const dep of dependencies(raw)) {
    const long = isObj(raw) && isObj(raw[dep]) ? raw[dep] : {};
    const condition = (str(long['condition']) ?? 'service_started') as DependsOnCondition;
    const required = long['required'] !== false;
    if (!(dep in known)) {
      if (required)
        c.fail(
          ['services', name, 'depends_on'],
          `depends on undefined service ${JSON.stringify(dep)}`,
        );
      continue;
    }
    out.push({
      service: name,
      dependsOn: dep,
      condition,
      required,
      restart: long['restart'] === true,
    });
  }
  return out;
}
