import { describe, expect, it } from 'vitest';
import {
  buildOciSpec,
  capabilities,
  defaultCapabilities,
  overlayLowerdir,
} from '../../../../src/runtime/container/oci-spec.js';
import { humanDuration, psJson, statusText } from '../../../../src/runtime/container/format.js';
import type { ContainerInfo, ContainerRecord } from '../../../../src/runtime/container/types.js';

function record(over: Partial<ContainerRecord['HostConfig']> = {}): ContainerRecord {
  return {
    Id: 'a'.repeat(64),
    Name: '/web',
    Created: '2026-01-01T00:00:00.000Z',
    Path: 'sh',
    Args: ['-c', 'echo hi'],
    Image: 'sha256:1',
    LayerDirs: ['/l/base', '/l/top'],
    Config: {
      Hostname: 'h',
      User: '',
      Env: ['PATH=/bin'],
      Cmd: ['sh'],
      Entrypoint: null,
      WorkingDir: '',
      Labels: { app: 'x' },
      StopSignal: 'SIGTERM',
      StopTimeout: null,
      Image: 'busybox',
    },
    HostConfig: {
      Memory: 0,
      NanoCpus: 0,
      CpuShares: 0,
      PidsLimit: null,
      Binds: [],
      Tmpfs: {},
      ReadonlyRootfs: false,
      CapAdd: [],
      CapDrop: [],
      Init: false,
      AutoRemove: false,
      Runtime: 'runc',
      CgroupParent: 'tsswarm',
      ...over,
    },
    Mounts: [],
  };
}

const inputs = {
  rootfs: '/b/rootfs',
  uid: 0,
  gid: 0,
  additionalGids: [],
  hostsPath: '/c/hosts',
  hostnamePath: '/c/hostname',
  resolvConfPath: '/c/resolv.conf',
  cgroupsPath: '/tsswarm/x',
  initBinary: '/build/tsswarm-shim',
};

describe('OCI spec', () => {
  it('isolates with every namespace, docker caps, masked paths, no_new_privs', () => {
    const spec = buildOciSpec({ record: record(), ...inputs }) as {
      process: { noNewPrivileges: boolean; capabilities: { bounding: string[] }; args: string[] };
      linux: { namespaces: { type: string }[]; maskedPaths: string[]; resources: object };
      mounts: { destination: string }[];
    };
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual(
      ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'].sort(),
    );
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.capabilities.bounding).toEqual(defaultCapabilities);
    expect(spec.process.args).toEqual(['sh', '-c', 'echo hi']);
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
    expect(spec.mounts.map((m) => m.destination)).toEqual(
      expect.arrayContaining(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']),
    );
    expect(spec.linux.resources).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
  });

  it('maps limits to cgroup resources and --init to the bound shim', () => {
    const spec = buildOciSpec({
      record: record({
        Memory: 64 << 20,
        NanoCpus: 1.5e9,
        CpuShares: 512,
        PidsLimit: 50,
        Init: true,
      }),
      ...inputs,
    }) as { process: { args: string[] }; linux: { resources: Record<string, unknown> } };
    expect(spec.linux.resources['memory']).toEqual({ limit: 64 << 20, swap: 64 << 20 });
    expect(spec.linux.resources['cpu']).toEqual({ period: 100000, quota: 150000, shares: 512 });
    expect(spec.linux.resources['pids']).toEqual({ limit: 50 });
    expect(spec.process.args.slice(0, 2)).toEqual(['/sbin/tsswarm-init', '--']);
  });

  it('capabilities add and drop, ALL included', () => {
    expect(capabilities(['net_admin'], ['chown'])).toContain('CAP_NET_ADMIN');
    expect(capabilities([], ['CHOWN'])).not.toContain('CAP_CHOWN');
    expect(capabilities([], ['ALL'])).toEqual([]);
    expect(capabilities(['ALL'], [])).toContain('CAP_SYS_ADMIN');
  });

  it('overlay wants the top layer first', () => {
    expect(overlayLowerdir(['/l/base', '/l/top'])).toBe('/l/top:/l/base');
  });
});

describe('docker-shaped views', () => {
  it('durations as go-units prints them', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(3000)).toBe('3 seconds');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
  });

  it('ps status and json row', () => {
    const now = Date.parse('2026-01-01T00:00:10.000Z');
    const info: ContainerInfo = {
      record: record(),
      state: {
        Status: 'exited',
        Running: false,
        Pid: 0,
        ExitCode: 3,
        OOMKilled: false,
        Error: '',
        StartedAt: '2026-01-01T00:00:01.000Z',
        FinishedAt: '2026-01-01T00:00:08.000Z',
        MonitorPid: 0,
      },
    };
    expect(statusText(info, now)).toBe('Exited (3) 2 seconds ago');
    expect(psJson(info, now)).toMatchObject({
      ID: 'aaaaaaaaaaaa',
      Names: 'web',
      Image: 'busybox',
      Command: '"sh -c echo hi"',
      State: 'exited',
      Labels: 'app=x',
    });
  });
});
