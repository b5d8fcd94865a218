// Builds the OCI runtime config.json of a container from its record. Pure: no I/O.
import type { ContainerRecord } from './types.js';

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const defaultCapabilities = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const maskedPaths = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const readonlyPaths = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** The path inside the container where --init binds tsswarm-shim. */
export const initPath = '/sbin/tsswarm-init';

export function normalizeCapability(cap: string): string {
  const c = cap.trim().toUpperCase();
  return c.startsWith('CAP_') ? c : `CAP_${c}`;
}

export function capabilities(capAdd: readonly string[], capDrop: readonly string[]): string[] {
  const drop = new Set(capDrop.map(normalizeCapability));
  const add = capAdd.map(normalizeCapability);
  if (add.includes('CAP_ALL')) return allCapabilities.filter((c) => !drop.has(c));
  const base = drop.has('CAP_ALL') ? [] : defaultCapabilities.filter((c) => !drop.has(c));
  return [...new Set([...base, ...add])];
}

export const allCapabilities = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
];

export interface SpecInputs {
  record: ContainerRecord;
  /** Where the overlay is mounted (the bundle's rootfs). */
  rootfs: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Files generated in the container dir, bind-mounted as docker does. */
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
  /** Absolute cgroup path, e.g. "/tsswarm/<id>". */
  cgroupsPath: string;
  /** Host path of the init binary, when HostConfig.Init. */
  initBinary: string;
}

const cpuPeriodUs = 100_000;

export function buildOciSpec(i: SpecInputs): Record<string, unknown> {
  const r = i.record;
  const hc = r.HostConfig;
  const caps = capabilities(hc.CapAdd, hc.CapDrop);
  const args = [r.Path, ...r.Args];
  const processArgs = hc.Init ? [initPath, '--', ...args] : args;
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    {
      destination: '/dev/mqueue',
      type: 'mqueue',
      source: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev'],
    },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', 'ro'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
    bind(i.resolvConfPath, '/etc/resolv.conf', false),
    bind(i.hostnamePath, '/etc/hostname', false),
    bind(i.hostsPath, '/etc/hosts', false),
  ];
  if (hc.Init) mounts.push(bind(i.initBinary, initPath, true));
  for (const m of r.Mounts) {
    if (m.Type === 'bind' || m.Type === 'volume') mounts.push(bind(m.Source, m.Destination, !m.RW));
    else {
      const opts = m.Mode === '' ? [] : m.Mode.split(',');
      mounts.push({
        destination: m.Destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'noexec', ...opts],
      });
    }
  }
  const resources: Record<string, unknown> = {
    devices: [{ allow: false, access: 'rwm' }],
  };
  if (hc.Memory > 0) {
    // No swap beyond the limit, so an over-limit container is OOM-killed instead of swapping.
    resources['memory'] = { limit: hc.Memory, swap: hc.Memory };
  }
  const cpu: Record<string, number> = {};
  if (hc.NanoCpus > 0) {
    cpu['period'] = cpuPeriodUs;
    cpu['quota'] = Math.round((hc.NanoCpus * cpuPeriodUs) / 1e9);
  }
  if (hc.CpuShares > 0) cpu['shares'] = hc.CpuShares;
  if (Object.keys(cpu).length > 0) resources['cpu'] = cpu;
  if (hc.PidsLimit !== null && hc.PidsLimit > 0) resources['pids'] = { limit: hc.PidsLimit };
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: i.uid, gid: i.gid, additionalGids: i.additionalGids },
      args: processArgs,
      env: r.Config.Env,
      cwd: r.Config.WorkingDir === '' ? '/' : r.Config.WorkingDir,
      capabilities: {
        bounding: caps,
        effective: caps,
        permitted: caps,
        inheritable: [],
      },
      noNewPrivileges: true,
      oomScoreAdj: 0,
    },
    root: { path: i.rootfs, readonly: hc.ReadonlyRootfs },
    hostname: r.Config.Hostname,
    mounts,
    linux: {
      cgroupsPath: i.cgroupsPath,
      resources,
      namespaces: [
        { type: 'pid' },
        r.HostConfig.NetnsPath !== undefined
          ? { type: 'network', path: r.HostConfig.NetnsPath }
          : { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
      ],
      maskedPaths,
      readonlyPaths,
    },
  };
}

function bind(source: string, destination: string, readOnly: boolean): Record<string, unknown> {
  return {
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'rprivate', readOnly ? 'ro' : 'rw'],
  };
}

/** Lowerdir option of overlay: the topmost layer comes first. */
export function overlayLowerdir(layerDirs: readonly string[]): string {
  return [...layerDirs].reverse().join(':');
}
