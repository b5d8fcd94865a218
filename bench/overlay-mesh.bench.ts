// Overlay data path across lab nodes (issue #6 targets), one JSON line: HTTP requests per second
// from a client task on the manager to a busybox httpd task pinned to the worker, straight to the
// task's overlay address (the anchor), through the service VIP, and through the routing mesh
// (the published port on the manager's lab address, a node without the task, from the client
// task and from the manager node itself); and the latency
// of A queries for `web` to the embedded DNS at 127.0.0.11. The load runs inside the client
// task's network namespace (`nsenter --net`), so every packet stays inside the lab.
// The page is the task's hostname (busybox httpd has no index of its own).
// Needs root, nats-server, runc and a built CLI (npm run build).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxImage } from '../test/helpers/images.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'dist', 'tsswarm.mjs');
const L = `nb${randomBytes(2).toString('hex')}`;
// Each target gets `rounds` slices of `sliceMs`, interleaved with the others in an order that
// rotates every round, after one warm-up round that is not counted: a load change on this shared
// machine, or the conntrack entries one target leaves behind for the next, then weigh on every
// target alike instead of on whichever happens to run last.
const rounds = 6;
const sliceMs = 500;
const perTargetMs = rounds * sliceMs;
const concurrency = 8;
const dnsQueries = 2000;

// Runs inside the client's namespace. argv[2] is a JSON job: { http: [url…] } or { dns: name }.
const loadScript = String.raw`
import net from 'node:net';
import dgram from 'node:dgram';
const job = JSON.parse(process.argv[2]);
const now = () => performance.now();
async function http({ host, port, ms, concurrency, max }) {
  let ok = 0, failed = 0, started = 0;
  const until = now() + ms;
  const one = () => new Promise((resolve) => {
    const s = net.connect({ host, port });
    let head = '';
    const timer = setTimeout(() => s.destroy(new Error('timeout')), 2000);
    s.setNoDelay(true);
    s.on('connect', () => s.write('GET / HTTP/1.0\r\nHost: web\r\n\r\n'));
    s.on('data', (d) => { if (head.length < 16) head += d.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      if (head.startsWith('HTTP/1.') && head.slice(9, 12) === '200') ok++; else failed++;
      resolve();
    });
  });
  const t0 = now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (now() < until && started < max) { started++; await one(); }
  }));
  const sec = (now() - t0) / 1000;
  return { ok, failed, sec, rps: Math.round(ok / sec) };
}
function query(id, name) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0); h.writeUInt16BE(0x0100, 2); h.writeUInt16BE(1, 4);
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
// Sequential A queries, one outstanding at a time; returns latencies and the first answer's IPs.
async function dns({ name, count }) {
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, r));
  const lat = []; let lost = 0; let ips = [];
  for (let i = 0; i < count; i++) {
    const id = i & 0xffff;
    const t = now();
    const reply = await new Promise((resolve) => {
      const timer = setTimeout(() => { sock.off('message', on); resolve(null); }, 1000);
      const on = (m) => { if (m.readUInt16BE(0) !== id) return; clearTimeout(timer); sock.off('message', on); resolve(m); };
      sock.on('message', on);
      sock.send(query(id, name), 53, '127.0.0.11');
    });
    if (reply === null) { lost++; continue; }
    lat.push(now() - t);
    if (i === 0) {
      const an = reply.readUInt16BE(6);
      let o = query(0, name).length;
      for (let a = 0; a < an; a++) {
        while (reply[o] !== 0 && (reply[o] & 0xc0) !== 0xc0) o += reply[o] + 1;
        o += reply[o] === 0 ? 1 : 2;
        const type = reply.readUInt16BE(o); const len = reply.readUInt16BE(o + 8);
        if (type === 1 && len === 4) ips.push([...reply.subarray(o + 10, o + 14)].join('.'));
        o += 10 + len;
      }
    }
  }
  sock.close();
  lat.sort((a, b) => a - b);
  const p = (q) => +(lat[Math.min(lat.length - 1, Math.floor(lat.length * q))] ?? 0).toFixed(3);
  return { answered: lat.length, lost, ips, p50: p(0.5), p99: p(0.99) };
}
const out = job.http ? await http(job.http) : await dns(job.dns);
process.stdout.write(JSON.stringify(out));
`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], timeoutMs = 90_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
async function ok(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
async function until<T>(what: string, fn: () => Promise<T>, good: (v: T) => boolean, ms = 60_000) {
  const deadline = Date.now() + ms;
  let last = await fn();
  while (!good(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

interface NodeRow {
  lab: string;
  name: string;
  address: string;
  pid: number;
  socket: string;
}

const base = await mkdtemp(join(tmpdir(), 'tsswarm-bench-mesh-'));
const dataRoot = join(base, 'data');
const script = join(base, 'load.mjs');
let labMade = false;
try {
  await writeFile(script, loadScript);
  await busyboxImage(dataRoot);
  const lab = (...args: string[]) =>
    ok(process.execPath, [bin, '--data-root', dataRoot, 'lab', ...args], 240_000);
  labMade = true;
  await lab('create', L, '--managers', '1', '--workers', '1');
  const nodes = (JSON.parse(await lab('ls', '--format', 'json')) as NodeRow[]).filter(
    (n) => n.lab === L,
  );
  const manager = nodes.find((n) => n.name === 'manager1');
  const worker = nodes.find((n) => n.name === 'worker1');
  if (!manager || !worker) throw new Error(`lab ${L} lacks manager1/worker1`);
  const swarm = (...args: string[]) =>
    ok(process.execPath, [bin, '-H', `unix://${manager.socket}`, ...args]);

  await swarm('network', 'create', 'front');
  await swarm(
    'service', 'create', '--name', 'web', '--network', 'front', '-p', '8080:80',
    '--constraint', 'node.role==worker', 'busybox',
    'sh', '-c', 'hostname > /tmp/index.html; exec httpd -f -p 80 -h /tmp',
  ); // prettier-ignore
  await swarm(
    'service', 'create', '--name', 'client', '--network', 'front',
    '--constraint', 'node.role==manager', 'busybox', 'sleep', '3600',
  ); // prettier-ignore

  // The client's namespace: the only task namespace on the manager (web is pinned elsewhere).
  const netnsDir = join(dirname(manager.socket), 'netns');
  const clientNetns = await until(
    'the client task namespace',
    async () => (await readdir(netnsDir).catch(() => [] as string[])).map((n) => join(netnsDir, n)),
    (l) => l.length === 1,
  ).then((l) => l[0] ?? '');
  const inClient = async <T>(job: unknown): Promise<T> =>
    JSON.parse(
      await ok('nsenter', [`--net=${clientNetns}`, process.execPath, script, JSON.stringify(job)]),
    ) as T;
  interface Dns {
    answered: number;
    lost: number;
    ips: string[];
    p50: number;
    p99: number;
  }
  interface Http {
    ok: number;
    failed: number;
    sec: number;
    rps: number;
  }
  const resolve1 = (name: string) =>
    until(
      `DNS ${name}`,
      () => inClient<Dns>({ dns: { name, count: 1 } }),
      (d) => d.ips.length === 1,
    ).then((d) => d.ips[0] ?? '');
  const vip = await resolve1('web');
  const taskAddr = await resolve1('tasks.web');
  // The web task answers once httpd runs.
  for (const h of [taskAddr, vip]) {
    await until(
      `http://${h}/`,
      () => inClient<Http>({ http: { host: h, port: 80, ms: 100, concurrency: 1, max: 1 } }),
      (r) => r.ok === 1,
    );
  }
  // The mesh from inside the client task, and from the manager node's own namespace (where the
  // integration tests reach it; a task's traffic crosses the overlay isolation rules).
  const inNode = async <T>(job: unknown): Promise<T> =>
    JSON.parse(
      await ok('nsenter', [
        `--net=/proc/${manager.pid}/ns/net`,
        process.execPath,
        script,
        JSON.stringify(job),
      ]),
    ) as T;
  const probe = { host: manager.address, port: 8080, ms: 100, concurrency: 1, max: 1 };
  await until(
    'the mesh from the node',
    () => inNode<Http>({ http: probe }),
    (r) => r.ok === 1,
  );
  const meshFromTask = await until(
    'the mesh from the client task',
    () => inClient<Http>({ http: probe }),
    (r) => r.ok === 1,
    10_000,
  ).then(
    () => true,
    () => false,
  );

  // The anchor and every path are measured by the same load script with the same settings;
  // only where it runs (the client task, or the manager node for meshFromNode) and the address
  // differ.
  type Target = 'direct' | 'vip' | 'mesh' | 'meshNode';
  const targets: Record<Target, (ms: number) => Promise<Http>> = {
    direct: (ms) =>
      inClient<Http>({ http: { host: taskAddr, port: 80, ms, concurrency, max: 200_000 } }),
    vip: (ms) => inClient<Http>({ http: { host: vip, port: 80, ms, concurrency, max: 200_000 } }),
    mesh: (ms) =>
      inClient<Http>({
        http: { host: manager.address, port: 8080, ms, concurrency, max: 200_000 },
      }),
    meshNode: (ms) =>
      inNode<Http>({ http: { host: manager.address, port: 8080, ms, concurrency, max: 200_000 } }),
  };
  const order: Target[] = meshFromTask
    ? ['direct', 'vip', 'mesh', 'meshNode']
    : ['direct', 'vip', 'meshNode'];
  const total = new Map<Target, Http>(order.map((t) => [t, { ok: 0, failed: 0, sec: 0, rps: 0 }]));
  const perRound: Record<string, number>[] = [];
  for (let r = -1; r < rounds; r++) {
    const row: Record<string, number> = {};
    for (let i = 0; i < order.length; i++) {
      const t = order[(i + Math.max(0, r)) % order.length] as Target;
      const x = await targets[t](sliceMs);
      row[t] = x.rps;
      if (r < 0) continue; // warm-up
      const sum = total.get(t) as Http;
      sum.ok += x.ok;
      sum.failed += x.failed;
      sum.sec += x.sec;
    }
    if (r >= 0) perRound.push(row);
  }
  for (const x of total.values()) x.rps = Math.round(x.ok / Math.max(x.sec, 1e-9));
  const direct = total.get('direct') as Http;
  const viaVip = total.get('vip') as Http;
  const viaMesh = total.get('mesh');
  const viaMeshNode = total.get('meshNode') as Http;
  const vipRatioPerRound = perRound.map(
    (row) => +((row['vip'] ?? 0) / (row['direct'] ?? 1)).toFixed(2),
  );
  const dns = await inClient<Dns>({ dns: { name: 'web', count: dnsQueries } });
  const ratio = (x: Http) => +(x.rps / Math.max(1, direct.rps)).toFixed(2);
  console.log(
    JSON.stringify({
      bench: 'overlay-mesh',
      nodes: '1 manager (client) + 1 worker (web, busybox httpd)',
      perTargetMs,
      rounds,
      concurrency,
      directRps: direct.rps,
      vipRps: viaVip.rps,
      meshFromTaskRps: viaMesh?.rps ?? 'unreachable',
      meshFromNodeRps: viaMeshNode.rps,
      failed: direct.failed + viaVip.failed + (viaMesh?.failed ?? 0) + viaMeshNode.failed,
      vipRatio: ratio(viaVip),
      meshRatio: viaMesh ? ratio(viaMesh) : 0,
      meshFromNodeRatio: ratio(viaMeshNode),
      vipRatioPerRound,
      targetVipRatio: 0.8,
      targetMeshRatio: 0.7,
      vipGoalMet: ratio(viaVip) >= 0.8,
      meshGoalMet: viaMesh !== undefined && ratio(viaMesh) >= 0.7,
      dnsQueries: dns.answered,
      dnsLost: dns.lost,
      dnsP50Ms: dns.p50,
      dnsP99Ms: dns.p99,
      targetDnsP50Ms: 1,
      dnsGoalMet: dns.lost === 0 && dns.p50 <= 1,
    }),
  );
} finally {
  if (labMade) {
    const r = await run(process.execPath, [bin, '--data-root', dataRoot, 'lab', 'rm', L], 180_000);
    if (r.code !== 0) console.error(`lab rm ${L}: ${r.stderr}`);
  }
  await rm(base, { recursive: true, force: true });
}
