import type { Labels } from '../api/index.js';
import { locateInFiles } from './checks.js';
import type { Diagnostic } from './diagnostic.js';
import type { ComposeConfig } from './load.js';
import { isObj, type Obj } from './normalize.js';
import type { LocationIndex } from './source.js';
import { strMap } from './convert-values.js';

export const stackNamespaceLabel = 'com.docker.stack.namespace';

/** The state one stack conversion shares: its name, the config, and the errors found so far. */
export class Converter {
  readonly errors: Diagnostic[] = [];
  constructor(
    readonly stack: string,
    readonly config: ComposeConfig,
    readonly locations: readonly LocationIndex[],
  ) {}

  fail(path: (string | number)[], message: string): void {
    this.errors.push({ ...locateInFiles(this.locations, path, true), severity: 'error', message });
  }

  section(kind: string): Obj {
    const v = this.config[kind];
    return isObj(v) ? v : {};
  }

  resolvedName(kind: string, key: string): string | undefined {
    const def = this.section(kind)[key];
    if (!isObj(def)) return undefined;
    if (typeof def['name'] === 'string') return def['name'];
    return `${this.stack}_${key}`;
  }

  labels(extra: unknown): Labels {
    return { ...strMap(extra), [stackNamespaceLabel]: this.stack };
  }
}
