// Docker-shaped views of a container: ps rows, `--format json` objects, inspect documents.
import type { ContainerInfo } from './types.js';
import type { ContainerPaths } from './container-store.js';
import { overlayLowerdir } from './oci-spec.js';
import { humanDuration } from '../../display/human-units.js';
import { formatRows } from '../../display/list-format.js';

export { humanDuration };

export function statusText(info: ContainerInfo, now = Date.now()): string {
  const s = info.state;
  switch (s.Status) {
    case 'running': {
      const up = `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
      const h = s.Health?.Status;
      if (h === undefined) return up;
      return `${up} (${h === 'starting' ? 'health: starting' : h})`;
    }
    case 'exited':
      return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

export function commandText(info: ContainerInfo, truncate: boolean): string {
  const full = [info.record.Path, ...info.record.Args].join(' ');
  const cut = truncate && full.length > 20 ? `${full.slice(0, 19)}…` : full;
  return `"${cut}"`;
}

export function psJson(info: ContainerInfo, now = Date.now()): Record<string, string> {
  const r = info.record;
  return {
    Command: commandText(info, true),
    CreatedAt: r.Created,
    ID: r.Id.slice(0, 12),
    Image: r.Config.Image,
    Labels: Object.entries(r.Config.Labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    LocalVolumes: '0',
    Mounts: r.Mounts.map((m) => m.Source || m.Destination).join(','),
    Names: r.Name.slice(1),
    Networks: 'none',
    Ports: '',
    RunningFor: `${humanDuration(now - Date.parse(r.Created))} ago`,
    Size: '0B',
    State: info.state.Status,
    Status: statusText(info, now),
  };
}

/** `ps`: docker's table, one JSON object per line, or a Go template (src/api/list-format.ts). */
export function formatPs(
  infos: readonly ContainerInfo[],
  format: string | undefined,
  now = Date.now(),
): string {
  return formatRows(
    infos.map((i) => psJson(i, now)),
    format,
    [
      { header: 'CONTAINER ID', field: 'ID' },
      { header: 'IMAGE', field: 'Image' },
      { header: 'COMMAND', field: 'Command' },
      { header: 'CREATED', field: 'RunningFor' },
      { header: 'STATUS', field: 'Status' },
      { header: 'PORTS', field: 'Ports' },
      { header: 'NAMES', field: 'Names' },
    ],
  );
}

export function inspectDocument(info: ContainerInfo, p: ContainerPaths): Record<string, unknown> {
  const r = info.record;
  const s = info.state;
  return {
    Id: r.Id,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: {
      Status: s.Status,
      Running: s.Running,
      Paused: false,
      Restarting: false,
      OOMKilled: s.OOMKilled,
      Dead: s.Status === 'dead',
      Pid: s.Pid,
      ExitCode: s.ExitCode,
      Error: s.Error,
      StartedAt: s.StartedAt,
      FinishedAt: s.FinishedAt,
      ...(s.Health ? { Health: s.Health } : {}),
    },
    Image: r.Image,
    ResolvConfPath: p.resolvConf,
    HostnamePath: p.hostname,
    HostsPath: p.hosts,
    LogPath: p.log,
    Name: r.Name,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    HostConfig: {
      ...r.HostConfig,
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: 'none',
    },
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        LowerDir: overlayLowerdir(r.LayerDirs),
        UpperDir: p.upper,
        WorkDir: p.work,
        MergedDir: p.rootfs,
      },
    },
    Mounts: r.Mounts,
    Config: {
      ...r.Config,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
    },
    NetworkSettings: { Networks: {} },
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(2)}${units[u]}`;
}
