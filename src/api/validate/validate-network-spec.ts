import type { NetworkSpec } from '../network.js';
import { OBJECT_NAME_PATTERN, SpecErrors, type SpecError } from './spec-error.js';

const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IP4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function validIp4(s: string, withPrefix: boolean): boolean {
  const m = (withPrefix ? CIDR4 : IP4).exec(s);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return false;
  return !withPrefix || Number(m[5]) <= 32;
}

export function validateNetworkSpec(spec: NetworkSpec): SpecError[] {
  const e = new SpecErrors();
  if (!spec.Name) e.add('Name', 'a network needs a name');
  else if (!OBJECT_NAME_PATTERN.test(spec.Name)) {
    e.add('Name', `invalid network name ${JSON.stringify(spec.Name)}`);
  }
  e.labels('Labels', spec.Labels);
  const driver = spec.DriverConfiguration?.Name;
  if (driver !== undefined && driver !== 'overlay') {
    e.add(
      'DriverConfiguration.Name',
      `swarm networks use the overlay driver, got ${JSON.stringify(driver)}`,
    );
  }
  (spec.IPAMOptions?.Configs ?? []).forEach((c, i) => {
    const p = `IPAMOptions.Configs[${i}]`;
    if (c.Subnet !== undefined && !validIp4(c.Subnet, true))
      e.add(`${p}.Subnet`, `invalid subnet ${c.Subnet}`);
    if (c.Range !== undefined && !validIp4(c.Range, true))
      e.add(`${p}.Range`, `invalid range ${c.Range}`);
    if (c.Gateway !== undefined && !validIp4(c.Gateway, false)) {
      e.add(`${p}.Gateway`, `invalid gateway ${c.Gateway}`);
    }
  });
  if (spec.Ingress && spec.Attachable)
    e.add('Attachable', 'the ingress network cannot be attachable');
  return e.list;
}
