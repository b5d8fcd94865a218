// A container's mounts as its record keeps them (docker's `Mounts` of inspect).
import type { Mount } from '../../api/service.js';
import type { MountRecord } from './types.js';
import type { VolumeStore } from './volume-store.js';

/** The record of a `--mount` of the service spec's shape; a volume is created on first use. */
export function specMountRecord(volumes: VolumeStore, m: Mount): MountRecord {
  if (m.Type === 'volume') {
    const v = volumes.create(m.Source || undefined, m.VolumeOptions?.Labels ?? {});
    return volumeRecord(v.Name, v.Mountpoint, m.Target, m.ReadOnly === true);
  }
  if (m.Type === 'bind') {
    return {
      Type: 'bind',
      Source: m.Source ?? '',
      Destination: m.Target,
      Mode: m.ReadOnly ? 'ro' : '',
      RW: m.ReadOnly !== true,
      Propagation: m.BindOptions?.Propagation ?? 'rprivate',
    };
  }
  const opts: string[] = [];
  if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
  if (m.TmpfsOptions?.Mode !== undefined) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
  if (m.ReadOnly) opts.push('ro');
  return {
    Type: 'tmpfs',
    Source: '',
    Destination: m.Target,
    Mode: opts.join(','),
    RW: m.ReadOnly !== true,
    Propagation: '',
  };
}

export function volumeRecord(
  name: string,
  mountpoint: string,
  destination: string,
  readOnly: boolean,
): MountRecord {
  return {
    Type: 'volume',
    Name: name,
    Source: mountpoint,
    Destination: destination,
    Mode: readOnly ? 'ro' : '',
    RW: !readOnly,
    Propagation: '',
  };
}
