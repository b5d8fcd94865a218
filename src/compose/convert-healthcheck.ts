import type { HealthConfig } from '../api/index.js';
import { compact, ns, num, strList } from './convert-values.js';
import { isObj } from './normalize.js';

export function healthcheck(v: unknown): HealthConfig | undefined {
  if (!isObj(v)) return undefined;
  if (v['disable'] === true) return { Test: ['NONE'] };
  return compact({
    Test: strList(v['test']),
    Interval: ns(v['interval']),
    Timeout: ns(v['timeout']),
    Retries: num(v['retries']),
    StartPeriod: ns(v['start_period']),
    StartInterval: ns(v['start_interval']),
  });
}
