import type { HealthConfig } from '../../api/service.js';

/**
 * Docker's merge of a container's health check over its image's: no Test (or `[]`) inherits
 * the image's, and each duration or count left at 0 takes the image's. `["NONE"]` disables.
 */
export function mergeHealthcheck(
  image: HealthConfig | undefined,
  own: HealthConfig | undefined,
): HealthConfig | undefined {
  const test = own?.Test && own.Test.length > 0 ? own.Test : image?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  const pick = (k: 'Interval' | 'Timeout' | 'StartPeriod' | 'Retries' | 'StartInterval') =>
    own?.[k] ? { [k]: own[k] } : image?.[k] ? { [k]: image[k] } : {};
  return {
    Test: test,
    ...pick('Interval'),
    ...pick('Timeout'),
    ...pick('StartPeriod'),
    ...pick('StartInterval'),
    ...pick('Retries'),
  };
}

/** The record's `Config.Healthcheck` field: absent when no check applies. */
export function healthcheckField(
  image: HealthConfig | undefined,
  own: HealthConfig | undefined,
): { Healthcheck?: HealthConfig } {
  const h = mergeHealthcheck(image, own);
  return h ? { Healthcheck: h } : {};
}
