import type { Mount } from '../api/index.js';
import { compact, num, str, strList } from './convert-values.js';
import type { Converter } from './converter.js';
import { isObj, type Obj } from './normalize.js';

export function mounts(c: Converter, path: string[], svc: Obj): Mount[] | undefined {
  const out: Mount[] = [];
  const volumes = Array.isArray(svc['volumes']) ? svc['volumes'] : [];
  volumes.forEach((raw, i) => {
    const v = isObj(raw) ? raw : {};
    const at = [...path, 'volumes', i];
    const target = str(v['target']) ?? '';
    if (!target.startsWith('/')) {
      c.fail(at, `mount target ${JSON.stringify(target)} must be an absolute path`);
      return;
    }
    const readOnly = v['read_only'] === true ? true : undefined;
    const type = str(v['type']);
    if (type === 'bind') {
      const bind = isObj(v['bind']) ? v['bind'] : {};
      const propagation = str(bind['propagation']) as NonNullable<
        Mount['BindOptions']
      >['Propagation'];
      if (bind['selinux'] !== undefined || bind['create_host_path'] !== undefined) {
        c.fail([...at, 'bind'], 'bind options other than propagation are not supported by tsswarm');
      }
      out.push(
        compact({
          Type: 'bind' as const,
          Source: str(v['source']),
          Target: target,
          ReadOnly: readOnly,
          BindOptions: propagation ? { Propagation: propagation } : undefined,
        }),
      );
    } else if (type === 'volume') {
      const source = str(v['source']);
      let name: string | undefined;
      if (source !== undefined) {
        name = c.resolvedName('volumes', source);
        if (name === undefined)
          c.fail(
            at,
            `service uses undefined volume ${JSON.stringify(source)}: declare it under the top-level volumes`,
          );
      }
      const vol = isObj(v['volume']) ? v['volume'] : {};
      out.push(
        compact({
          Type: 'volume' as const,
          Source: name,
          Target: target,
          ReadOnly: readOnly,
          VolumeOptions: vol['nocopy'] === true ? { NoCopy: true } : undefined,
        }),
      );
    } else if (type === 'tmpfs') {
      const t = isObj(v['tmpfs']) ? v['tmpfs'] : {};
      const size = typeof t['size'] === 'number' ? t['size'] : undefined;
      out.push(
        compact({
          Type: 'tmpfs' as const,
          Target: target,
          ReadOnly: readOnly,
          TmpfsOptions: compact({ SizeBytes: size, Mode: num(t['mode']) }),
        }),
      );
    } else {
      c.fail(
        [...at, 'type'],
        `mount type ${JSON.stringify(type)} is not supported by tsswarm (bind, volume and tmpfs are)`,
      );
    }
  });
  for (const t of strList(svc['tmpfs']) ?? [])
    out.push({ Type: 'tmpfs', Target: t.split(':')[0] ?? t });
  return out.length > 0 ? out : undefined;
}
