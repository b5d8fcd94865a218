// Overlay figures on the real kernel (root), one JSON line: embedded DNS queries per second over
// loopback, network create and container attach, peer convergence for 200 remote tasks, and
// the time of one atomic VIP backend update. Everything runs in namespaces made here, removed
// at the end. Meant to live at bench/overlay-net.bench.ts.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { DnsMessage } from '../src/overlay-net/index.js';
import {
  DnsServer,
  EndpointRules,
  ExecNetHost,
  NetworkSandbox,
  cleanupAll,
  defaultOverlayConfig,
  encodeMessage,
  inNetns,
  openDnsListener,
} from '../src/overlay-net/index.js';

const base = new ExecNetHost();
const out: Record<string, number | string> = { bench: 'overlay-net' };

async function sh(cmd: string, ...args: string[]): Promise<void> {
  const r = await base.run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return +(s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0).toFixed(2);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return Math.round(performance.now() - t);
}

async function dnsOverLoopback(total: number, concurrency: number): Promise<void> {
  const server = new DnsServer({ prefix: 'bench', upstreams: [], upstreamTimeoutMs: 100 });
  const listener = await openDnsListener(null, '127.0.0.1', 0);
  server.addListener('lo', listener);
  server.setTable({
    networks: [
      { id: 'n', services: [{ name: 'web', endpointMode: 'vip', vip: '10.0.0.2', tasks: [] }] },
    ],
    clients: [{ addr: '127.0.0.1', networks: ['n'] }],
  });
  const port = listener.udp.address().port;
  const client = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const query = (id: number): Buffer => {
    const m: DnsMessage = {
      id,
      flags: { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
      questions: [{ name: 'web', type: 1, class: 1 }],
      answers: [],
      authorities: [],
      additionals: [],
    };
    return encodeMessage(m);
  };
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('dns bench did not finish')), 60_000);
    const send = (): void => {
      if (next >= total) return;
      const id = next++ & 0xffff;
      sentAt.set(id, performance.now());
      client.send(query(id), port, '127.0.0.1');
    };
    client.on('message', (m) => {
      latencies.push(performance.now() - (sentAt.get(m.readUInt16BE(0)) ?? 0));
      if (latencies.length === total) {
        clearTimeout(deadline);
        resolve();
      } else send();
    });
    for (let i = 0; i < concurrency; i++) send();
  });
  out.dnsQueriesPerSec = Math.round(total / ((performance.now() - started) / 1000));
  out.dnsP50Ms = percentile(latencies, 0.5);
  out.dnsP99Ms = percentile(latencies, 0.99);
  client.close();
  await server.close();
}

async function kernelFigures(): Promise<void> {
  const prefix = 'bq';
  const nodeNs = `${prefix}-bench-node`;
  const ctrNs = `${prefix}-bench-ctr`;
  try {
    await sh('ip', 'netns', 'add', nodeNs);
    await sh('ip', 'netns', 'add', ctrNs);
    const link = ['-n', nodeNs, 'link'];
    await sh('ip', ...link, 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    await sh('ip', '-n', nodeNs, 'addr', 'add', '192.168.252.1/24', 'dev', 'eth0');
    await sh('ip', ...link, 'set', 'eth0', 'up');
    const host = inNetns(base, { name: nodeNs });
    const config = { ...defaultOverlayConfig(), prefix };
    const net = new NetworkSandbox(
      host,
      {
        id: 'net',
        vni: 99,
        subnet: '10.90.0.0/16',
        gateway: '10.90.0.1',
        localAddr: '192.168.252.1',
      },
      config,
    );
    out.createNetworkMs = await timed(() => net.create());
    out.attachMs = await timed(() =>
      net.attach({ id: 'c', netns: { name: ctrNs }, ip: '10.90.0.5', mac: '02:42:0a:5a:00:05' }),
    );
    const hex = (n: number): string => n.toString(16).padStart(2, '0');
    const peers = Array.from({ length: 200 }, (_, i) => ({
      ip: `10.90.${1 + (i >> 8)}.${i & 255}`,
      mac: `02:42:0a:5a:${hex(1 + (i >> 8))}:${hex(i & 255)}`,
      nodeAddr: `192.168.252.${2 + (i % 20)}`,
    }));
    out.setPeers200FirstMs = await timed(() => net.setPeers(peers));
    out.setPeers200UnchangedMs = await timed(() => net.setPeers(peers));
    out.setPeers200Remove10Ms = await timed(() => net.setPeers(peers.slice(10)));

    const rules = new EndpointRules(inNetns(base, { name: ctrNs }), prefix);
    const services = (backends: number, round: number): Parameters<typeof rules.apply>[0] => ({
      services: Array.from({ length: 20 }, (_, s) => ({
        name: `s${s}`,
        vip: `10.91.0.${s + 1}`,
        backends: Array.from(
          { length: backends - (round % 2) },
          (_, b) => `10.90.${s + 1}.${b + 1}`,
        ),
      })),
    });
    const small: number[] = [];
    for (let r = 0; r < 30; r++) small.push(await timed(() => rules.apply(services(10, r))));
    out.vipUpdate20Services10BackendsP50Ms = percentile(small, 0.5);
    const large: number[] = [];
    for (let r = 0; r < 10; r++) large.push(await timed(() => rules.apply(services(100, r))));
    out.vipUpdate20Services100BackendsP50Ms = percentile(large, 0.5);
    await cleanupAll(host, prefix);
  } finally {
    await base.run('ip', ['netns', 'del', nodeNs]);
    await base.run('ip', ['netns', 'del', ctrNs]);
  }
}

await dnsOverLoopback(20_000, 32);
if (process.getuid?.() === 0) await kernelFigures();
else out.kernel = 'skipped: needs root';
console.log(JSON.stringify(out));
