import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetHost, NetworkSandbox, NetworkSpec, Peer } from '../../../src/overlay-net/index.js';
import {
  ExecNetHost,
  OverlayNode,
  Rcode,
  cleanupAll,
  decodeMessage,
  defaultOverlayConfig,
  encodeMessage,
  inNetns,
  listOwned,
  renderEndpointRules,
  renderIngressRules,
  renderNetworkRules,
} from '../../../src/overlay-net/index.js';

// Every address below lives only inside namespaces this file creates; the fake upstream DNS
// server is on loopback. No packet leaves the machine.
const isRoot = process.getuid?.() === 0;
const TOOLS = ['ip', 'nft', 'bridge', 'busybox', 'sysctl', 'nsenter'];
const missing = TOOLS.filter(
  (t) => !['/usr/sbin', '/usr/bin'].some((d) => existsSync(`${d}/${t}`)),
);
const skipReason = !isRoot ? '(needs root)' : missing.length ? `(needs ${missing.join(', ')})` : '';

const prefix = `o${randomBytes(2).toString('hex').slice(0, 3)}`;
const ns = (n: string): string => `${prefix}-${n}`;
const NODES = [1, 2, 3] as const;
const underlay = (n: number): string => `192.168.251.${n}`;
const EXT_ADDR = '192.168.251.50';
const VIP = '10.77.0.100';
const FRONT = { id: 'frontend', vni: 4242, subnet: '10.77.0.0/24', gateway: '10.77.0.1' };
const INGRESS = { id: 'ingress', vni: 4243, subnet: '10.79.0.0/24', gateway: '10.79.0.1' };
const BACK = { id: 'backend', vni: 4244, subnet: '10.78.0.0/24', gateway: '10.78.0.1' };
const task = (n: number): string => `10.77.0.1${n}`;
const ingressTask = (n: number): string => `10.79.0.1${n}`;
const nodeIngress = (n: number): string => `10.79.0.${n + 1}`;
const mac = (net: number, host: number): string =>
  `02:42:0a:${net.toString(16)}:00:${host.toString(16).padStart(2, '0')}`;
const CLIENT_IP = '10.77.0.20';
const BACK_IP = '10.78.0.11';
const UPSTREAM_ANSWER = '198.51.100.7';

const base = new ExecNetHost();
const children: ChildProcess[] = [];
const madeNs: string[] = [];
const nodes = new Map<number, OverlayNode>();
const sandboxes = new Map<string, NetworkSandbox>();
let upstream: dgram.Socket | undefined;

const nodeHost = (n: number): NetHost => inNetns(base, { name: ns(`n${n}`) });
const node = (n: number): OverlayNode => {
  const o = nodes.get(n);
  if (!o) throw new Error(`no node ${n}`);
  return o;
};
const get = (key: string): NetworkSandbox => {
  const s = sandboxes.get(key);
  if (!s) throw new Error(`no sandbox ${key}`);
  return s;
};

async function sh(cmd: string, ...args: string[]): Promise<string> {
  const r = await base.run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function addNs(name: string): Promise<void> {
  await sh('ip', 'netns', 'add', name);
  madeNs.push(name);
  await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
}

const SERVER = `
const name = process.argv[1];
const udp = require('node:dgram').createSocket('udp4');
udp.on('message', (m, r) => udp.send(name, r.port, r.address));
udp.bind(8080, '0.0.0.0', () =>
  require('node:net').createServer((s) => s.end(name)).listen(8080, '0.0.0.0', () => console.log('ready')));
`;

// One datagram per fresh socket (so one flow each); records who answered and from where.
const UDP_CLIENT = `
const dgram = require('node:dgram');
const [host, port, count] = [process.argv[1], +process.argv[2], +process.argv[3]];
const one = () => new Promise((resolve) => {
  const s = dgram.createSocket('udp4');
  const t = setTimeout(() => { s.close(); resolve({ error: 'timeout' }); }, 2000);
  s.on('message', (m, r) => { clearTimeout(t); s.close(); resolve({ body: String(m), from: r.address }); });
  s.send('hi', port, host);
});
(async () => { const out = []; for (let i = 0; i < count; i++) out.push(await one()); console.log(JSON.stringify(out)); })();
`;

// Sequential and bounded: count connections, each with its own timeout.
const CLIENT = `
const net = require('node:net');
const [host, port, count, timeoutMs] = [process.argv[1], +process.argv[2], +process.argv[3], +process.argv[4]];
const one = () => new Promise((resolve) => {
  const s = net.connect({ host, port });
  let body = '';
  const t = setTimeout(() => { s.destroy(); resolve({ error: 'timeout' }); }, timeoutMs);
  s.on('data', (d) => (body += d));
  s.on('end', () => { clearTimeout(t); resolve({ body, from: s.remoteAddress }); });
  s.on('error', (e) => { clearTimeout(t); resolve({ error: e.code }); });
});
(async () => { const out = []; for (let i = 0; i < count; i++) out.push(await one()); console.log(JSON.stringify(out)); })();
`;

interface Hit {
  body?: string;
  from?: string;
  error?: string;
}

async function requests(
  from: string,
  host: string,
  port: number,
  count: number,
  timeoutMs = 2000,
): Promise<Hit[]> {
  const args = [host, String(port), String(count), String(timeoutMs)];
  const out = await sh('ip', 'netns', 'exec', from, process.execPath, '-e', CLIENT, ...args);
  return JSON.parse(out) as Hit[];
}

function countBy(hits: Hit[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of hits) {
    const k = h.body ?? `error:${h.error}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

async function startServer(netns: string, name: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', SERVER, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server ${name} did not start`)), 10_000);
    child.stdout?.on('data', () => (clearTimeout(t), resolve()));
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server ${name} exited ${code}`));
    });
  });
}

async function sandbox(
  net: typeof FRONT,
  n: number,
  extra: Partial<NetworkSpec> = {},
): Promise<NetworkSandbox> {
  const spec: NetworkSpec = { ...net, localAddr: underlay(n), underlayDev: 'eth0', ...extra };
  const s = await node(n).createNetwork(spec);
  sandboxes.set(`${net.id}/${n}`, s);
  return s;
}

/** A fake upstream resolver on loopback: every name is UPSTREAM_ANSWER. */
async function startUpstream(): Promise<number> {
  const fake = dgram.createSocket('udp4');
  upstream = fake;
  fake.on('message', (m, r) => {
    const q = decodeMessage(m);
    const question = q.questions[0];
    if (!question) return;
    const reply = encodeMessage({
      ...q,
      flags: { ...q.flags, qr: true, ra: true },
      answers: [{ name: question.name, type: 1, class: 1, ttl: 60, data: UPSTREAM_ANSWER }],
    });
    fake.send(reply, r.port, r.address);
  });
  await new Promise<void>((resolve) => fake.bind(0, '127.0.0.1', resolve));
  return fake.address().port;
}

type ProbeResult = { rcode?: number; answers?: string[]; error?: string };

async function probeDns(from: string, probes: object[]): Promise<ProbeResult[]> {
  const tsx = `${process.cwd()}/node_modules/.bin/tsx`;
  const script = `${import.meta.dirname}/dns-probe.ts`;
  const out = await sh('ip', 'netns', 'exec', from, tsx, script, JSON.stringify(probes));
  return JSON.parse(out) as ProbeResult[];
}

const frontPeers = (): Peer[] => [
  ...NODES.map((n) => ({ ip: task(n), mac: mac(0x4d, 0x10 + n), nodeAddr: underlay(n) })),
  { ip: CLIENT_IP, mac: mac(0x4d, 0x20), nodeAddr: underlay(1) },
];

describe.skipIf(skipReason !== '')(`overlay network on 3 namespaced nodes ${skipReason}`, () => {
  beforeAll(async () => {
    await addNs(ns('u'));
    await sh('ip', '-n', ns('u'), 'link', 'add', 'ub', 'type', 'bridge');
    await sh('ip', '-n', ns('u'), 'link', 'set', 'ub', 'up');
    const onUnderlay = async (name: string, addr: string, port: string): Promise<void> => {
      await addNs(name);
      const u = ['-n', ns('u'), 'link'];
      await sh('ip', ...u, 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
      await sh('ip', ...u, 'set', port, 'master', 'ub', 'up');
      await sh('ip', '-n', name, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      await sh('ip', '-n', name, 'link', 'set', 'eth0', 'up');
    };
    for (const n of NODES) await onUnderlay(ns(`n${n}`), underlay(n), `u${n}`);
    await onUnderlay(ns('ext'), EXT_ADDR, 'uext');
    for (const n of NODES) await addNs(ns(`c${n}`));
    await addNs(ns('cl'));
    await addNs(ns('cb'));

    const upstreamPort = await startUpstream();
    for (const n of NODES) {
      const config = {
        ...defaultOverlayConfig(),
        prefix,
        dnsUpstreams: [{ host: '127.0.0.1', port: upstreamPort }],
      };
      nodes.set(n, new OverlayNode({ config, netns: { name: ns(`n${n}`) } }));
    }
    for (const n of NODES) {
      const c = { name: ns(`c${n}`) };
      await sandbox(FRONT, n);
      await sandbox(INGRESS, n, { nodeEndpoint: { ip: nodeIngress(n), mac: mac(0x4f, n + 1) } });
      await get(`frontend/${n}`).attach({
        id: `c${n}`,
        netns: c,
        ip: task(n),
        mac: mac(0x4d, 0x10 + n),
      });
      await get(`ingress/${n}`).attach({
        id: `c${n}`,
        netns: c,
        ip: ingressTask(n),
        mac: mac(0x4f, 0x10 + n),
        ifname: 'eth1',
        defaultRoute: false,
      });
    }
    await node(1).attach(FRONT.id, {
      id: 'cl',
      netns: { name: ns('cl') },
      ip: CLIENT_IP,
      mac: mac(0x4d, 0x20),
    });
    await sandbox(BACK, 1, { internal: true });
    // By path, as the runtime hands over a container's namespace.
    await node(1).attach(BACK.id, {
      id: 'cb',
      netns: { path: `/run/netns/${ns('cb')}` },
      ip: BACK_IP,
      mac: mac(0x4e, 0x11),
    });

    const ingressPeers: Peer[] = NODES.flatMap((n) => [
      { ip: ingressTask(n), mac: mac(0x4f, 0x10 + n), nodeAddr: underlay(n) },
      { ip: nodeIngress(n), mac: mac(0x4f, n + 1), nodeAddr: underlay(n) },
    ]);
    for (const n of NODES) {
      await get(`frontend/${n}`).setPeers(frontPeers());
      await get(`ingress/${n}`).setPeers(ingressPeers);
    }
    for (const n of NODES) await startServer(ns(`c${n}`), `task${n}`);
    await startServer(ns('cb'), 'backend-task');
    await startServer(ns('ext'), 'outside');
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    upstream?.close();
    for (const n of NODES) await cleanupAll(nodeHost(n), prefix).catch(() => undefined);
    for (const name of madeNs.reverse()) await base.run('ip', ['netns', 'del', name]);
  });

  it('carries ping and TCP between containers on different nodes over VXLAN', async () => {
    await sh('ip', 'netns', 'exec', ns('c1'), 'busybox', 'ping', '-c1', '-W2', task(3));
    const hits = await requests(ns('c1'), task(2), 8080, 1);
    expect(hits).toEqual([{ body: 'task2', from: task(2) }]);
  });

  it('converges peers idempotently: a second setPeers changes nothing', async () => {
    const again = await get('frontend/2').setPeers([...frontPeers()].reverse());
    expect(again).toEqual({ fdbAdd: [], fdbDel: [], neighSet: [], neighDel: [] });
    const fdbMacs = async (): Promise<string[]> => {
      const vx = get('frontend/2').vxlan;
      const out = await sh(
        'ip',
        'netns',
        'exec',
        ns('n2'),
        'bridge',
        '-j',
        'fdb',
        'show',
        'dev',
        vx,
      );
      return (JSON.parse(out) as { mac: string; dst?: string }[])
        .filter((r) => r.dst !== undefined)
        .map((r) => r.mac);
    };
    const gone = await get('frontend/2').setPeers(frontPeers().filter((p) => p.ip !== task(3)));
    expect(gone.fdbDel).toEqual([{ mac: mac(0x4d, 0x13), dst: underlay(3) }]);
    expect(gone.neighDel).toEqual([task(3)]);
    expect(await fdbMacs()).not.toContain(mac(0x4d, 0x13));
    expect(await requests(ns('c2'), task(3), 8080, 1, 500)).toEqual([{ error: 'timeout' }]);
    await get('frontend/2').setPeers(frontPeers());
    expect(await fdbMacs()).toContain(mac(0x4d, 0x13));
    expect(await requests(ns('c2'), task(3), 8080, 1)).toEqual([{ body: 'task3', from: task(3) }]);
  });

  it('masquerades a network out to the node network, keeps internal and other networks apart', async () => {
    // Out to the node's network through masquerade; nothing gets out of an internal network,
    // nor across to another overlay network.
    expect(await requests(ns('c1'), EXT_ADDR, 8080, 1)).toEqual([
      { body: 'outside', from: EXT_ADDR },
    ]);
    expect(await requests(ns('cb'), EXT_ADDR, 8080, 1, 500)).toEqual([{ error: 'timeout' }]);
    expect(await requests(ns('c1'), BACK_IP, 8080, 1, 500)).toEqual([{ error: 'timeout' }]);
  });

  it('attaches a running container by pid to a second network, and detaches it', async () => {
    const pid = children[0]?.pid; // the task1 server, inside c1
    if (pid === undefined) throw new Error('no server process for c1');
    await node(1).attach(BACK.id, {
      id: 'c1',
      netns: { pid },
      ip: '10.78.0.12',
      mac: mac(0x4e, 0x12),
      ifname: 'eth2',
      defaultRoute: false,
    });
    expect(await requests(ns('c1'), BACK_IP, 8080, 1)).toEqual([
      { body: 'backend-task', from: BACK_IP },
    ]);
    await node(1).detach(BACK.id, 'c1');
    expect(await requests(ns('c1'), BACK_IP, 8080, 1, 500)).toEqual([{ error: 'timeout' }]);
  });

  it('spreads 30 VIP connections evenly over 3 backends on 3 nodes, replies from the VIP', async () => {
    const cl = { name: ns('cl') };
    const apply = (backends: string[]): Promise<boolean> =>
      node(1).setEndpointRules('cl', cl, { services: [{ name: 'web', vip: VIP, backends }] });
    const backends = NODES.map(task);
    await apply(backends);
    const hits = await requests(ns('cl'), VIP, 8080, 30);
    expect(countBy(hits)).toEqual({ task1: 10, task2: 10, task3: 10 });
    expect(new Set(hits.map((h) => h.from))).toEqual(new Set([VIP]));
    // UDP has no connection to hide behind: the reply's source address is rewritten to the VIP.
    const udpOut = await sh(
      'ip',
      'netns',
      'exec',
      ns('cl'),
      process.execPath,
      '-e',
      UDP_CLIENT,
      VIP,
      '8080',
      '3',
    );
    const udpHits = JSON.parse(udpOut) as Hit[];
    expect(countBy(udpHits)).toEqual({ task1: 1, task2: 1, task3: 1 });
    expect(new Set(udpHits.map((h) => h.from))).toEqual(new Set([VIP]));
    expect(await apply([...backends].reverse())).toBe(false);

    const started = Date.now();
    await apply([task(1), task(3)]);
    expect(Date.now() - started).toBeLessThan(1000);
    const after = await requests(ns('cl'), VIP, 8080, 10);
    expect(countBy(after)).toEqual({ task1: 5, task3: 5 });
    // Scaled to zero: refused at once rather than a timeout.
    await apply([]);
    expect(await requests(ns('cl'), VIP, 8080, 1)).toEqual([{ error: 'ECONNREFUSED' }]);
  });

  it('answers service, tasks.service and dnsrr names, hides other networks, forwards the rest', async () => {
    node(1).setDnsTable({
      networks: [
        {
          id: FRONT.id,
          services: [
            {
              name: 'web',
              aliases: ['www'],
              endpointMode: 'vip',
              vip: VIP,
              tasks: NODES.map((n) => ({ ip: task(n) })),
            },
            { name: 'db', endpointMode: 'dnsrr', tasks: [{ ip: task(2) }, { ip: task(3) }] },
          ],
        },
        {
          id: BACK.id,
          services: [{ name: 'secret', endpointMode: 'vip', vip: '10.78.0.5', tasks: [] }],
        },
      ],
      clients: [{ addr: CLIENT_IP, networks: [FRONT.id] }],
    });
    await node(1).setEndpointRules(
      'cl',
      { name: ns('cl') },
      {
        dns: { clientIp: CLIENT_IP, ifname: 'eth0', server: FRONT.gateway, port: 53 },
        services: [{ name: 'web', vip: VIP, backends: NODES.map(task) }],
      },
    );
    const r = await probeDns(ns('cl'), [
      { name: 'web', type: 'A' },
      { name: 'www', type: 'A', tcp: true },
      { name: 'tasks.web', type: 'A' },
      { name: 'db', type: 'A' },
      { name: 'db', type: 'A' },
      { name: 'secret', type: 'A' },
      { name: 'example.test', type: 'A' },
      { name: 'web', type: 'AAAA' },
      { name: '100.0.77.10.in-addr.arpa', type: 'PTR' },
    ]);
    expect(r[0]).toEqual({ rcode: Rcode.NoError, answers: [VIP] });
    expect(r[1]).toEqual({ rcode: Rcode.NoError, answers: [VIP] });
    expect(r[2]?.answers).toEqual(NODES.map(task));
    expect(r[3]?.answers).toEqual([task(2), task(3)]);
    expect(r[4]?.answers).toEqual([task(3), task(2)]);
    // "secret" lives on a network the client is not on: it is not answered from the table but
    // goes upstream like any outside name.
    expect(r[5]?.answers).toEqual([UPSTREAM_ANSWER]);
    expect(r[6]).toEqual({ rcode: Rcode.NoError, answers: [UPSTREAM_ANSWER] });
    expect(r[7]).toEqual({ rcode: Rcode.NoError, answers: [] });
    expect(r[8]?.answers).toEqual(['web']);
  });

  it('publishes a port on every node through the ingress network, and host mode on one node', async () => {
    for (const n of NODES) {
      const hostMode = {
        protocol: 'tcp' as const,
        publishedPort: 8082,
        targetPort: 8080,
        mode: 'host' as const,
        backends: [task(2)],
      };
      await node(n).setPublishedPorts({
        ports: [
          {
            protocol: 'tcp',
            publishedPort: 8081,
            targetPort: 8080,
            mode: 'ingress',
            backends: NODES.map(ingressTask),
          },
          ...(n === 2 ? [hostMode] : []),
        ],
        ingressBridge: get(`ingress/${n}`).bridge,
        snatAddr: nodeIngress(n),
      });
    }
    const mesh = await requests(ns('ext'), underlay(1), 8081, 9);
    expect(countBy(mesh)).toEqual({ task1: 3, task2: 3, task3: 3 });
    const viaNode3 = await requests(ns('ext'), underlay(3), 8081, 3);
    expect(countBy(viaNode3)).toEqual({ task1: 1, task2: 1, task3: 1 });
    expect(countBy(await requests(ns('ext'), underlay(2), 8082, 2))).toEqual({ task2: 2 });
    expect(countBy(await requests(ns('ext'), underlay(1), 8082, 1))).toEqual({
      'error:ECONNREFUSED': 1,
    });
  });

  it('answers a published port to a container on another overlay network, on every node', async () => {
    // cl is on frontend only (node 1): its connection crosses from the frontend bridge to the
    // ingress bridge, which the isolation rules otherwise forbid, and reaches tasks on all nodes.
    // Set the nodes up as the daemon leaves them: the gateway is the ingress bridge's primary
    // address (the node's own one comes later, with the managers' view), and the frontend's
    // table, with its masquerade, is made after the ingress table (so, at equal priority, it
    // would NAT first and pick the gateway, an address every node has).
    for (const n of NODES) {
      const br = get(`ingress/${n}`).bridge;
      const ipn = (...args: string[]) => sh('ip', '-n', ns(`n${n}`), ...args);
      await ipn('addr', 'flush', 'dev', br);
      await ipn('addr', 'add', `${INGRESS.gateway}/24`, 'dev', br);
      await ipn('addr', 'add', `${nodeIngress(n)}/24`, 'dev', br);
      await get(`frontend/${n}`).create();
    }
    for (const n of NODES) {
      const hits = await requests(ns('cl'), underlay(n), 8081, 3);
      expect(countBy(hits)).toEqual({ task1: 1, task2: 1, task3: 1 });
      expect(new Set(hits.map((h) => h.from))).toEqual(new Set([underlay(n)]));
    }
  });

  it('renders only scripts the kernel accepts (nft --check)', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({
      name: `s${i}`,
      vip: `10.77.1.${i + 1}`,
      backends:
        i % 7 === 0 ? [] : Array.from({ length: 1 + (i % 5) }, (_, j) => `10.77.2.${j + 1}`),
    }));
    const scripts = [
      renderEndpointRules(`${prefix}-ep`, {
        dns: { clientIp: CLIENT_IP, ifname: 'eth0', server: FRONT.gateway, port: 5353 },
        services: many,
      }),
      renderEndpointRules(`${prefix}-ep`, { services: [] }),
      renderIngressRules(`${prefix}-ingress`, { ports: [] }),
      renderIngressRules(`${prefix}-ingress`, {
        ports: [
          {
            protocol: 'udp',
            publishedPort: 53,
            targetPort: 5353,
            mode: 'ingress',
            backends: ['10.79.0.9'],
          },
          { protocol: 'tcp', publishedPort: 80, targetPort: 8080, mode: 'host', backends: [] },
        ],
        ingressBridge: 'br-x',
        snatAddr: '10.79.0.2',
      }),
      ...[true, false].map((internal) =>
        renderNetworkRules({
          table: `${prefix}-net-check`,
          bridge: 'br-x',
          subnet: '10.80.0.0/24',
          internal,
          bridgeGlob: `${prefix}b*`,
        }),
      ),
    ];
    for (const script of scripts) {
      const r = await nodeHost(3).run('nft', ['--check', '-f', '-'], { input: script });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('removes every device, nft table and DNS listener it made', async () => {
    await node(1).removeNetwork(BACK.id);
    expect(node(1).dns.listenerKeys().sort()).toEqual([FRONT.id, INGRESS.id]);
    for (const n of NODES) {
      const report = await node(n).cleanupAll();
      expect(report.devices.length).toBeGreaterThan(0);
      expect(report.dnsServers).toBe(1);
      expect(await listOwned(nodeHost(n), prefix)).toEqual({ devices: [], tables: [] });
    }
    for (const name of [...madeNs].reverse()) await sh('ip', 'netns', 'del', name);
    madeNs.length = 0;
    const left = await sh('ip', 'netns', 'list');
    expect(left.split('\n').filter((l) => l.startsWith(`${prefix}-`))).toEqual([]);
  });
});
