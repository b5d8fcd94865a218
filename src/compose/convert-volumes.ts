import type { Driver, Labels } from '../api/index.js';
import { compact, str, strMap } from './convert-values.js';
import type { Converter } from './converter.js';
import { isObj } from './normalize.js';

export interface StackVolume {
  key: string;
  name: string;
  external: boolean;
  driver?: Driver;
  labels?: Labels;
}

export function convertVolumes(c: Converter): StackVolume[] {
  return Object.entries(c.section('volumes'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, raw]) => {
      const v = isObj(raw) ? raw : {};
      const driver = str(v['driver']);
      return compact({
        key,
        name: c.resolvedName('volumes', key) ?? key,
        external: v['external'] === true,
        driver:
          driver === undefined
            ? undefined
            : compact({
                Name: driver,
                Options: isObj(v['driver_opts']) ? strMap(v['driver_opts']) : undefined,
              }),
        labels: v['external'] === true ? undefined : c.labels(v['labels']),
      });
    });
}
