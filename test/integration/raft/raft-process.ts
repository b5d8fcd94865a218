/**
 * One raft server as its own process, for the integration test and the benchmark:
 *   tsx test/integration/raft/raft-process.ts <config.json>
 * Raft runs over TCP with mutual TLS; a loopback HTTP endpoint serves as the client:
 *   POST /put {"key","value"} → {"index","prev"} | 421 {"leaderId"}
 *   GET /stats → RaftStats;  GET /dump → {"appliedIndex","data"}
 */
import fs from 'node:fs';
import http from 'node:http';
import { pino } from 'pino';
import {
  NotLeaderError,
  RaftNode,
  TcpTransport,
  defaultRaftConfig,
  openFileStores,
  type Configuration,
} from '../../../src/manager/raft/index.js';
import { KvFsm, encodeKv, type KvResult } from '../../sim/raft/kv-fsm.js';

export interface RaftProcessConfig {
  id: string;
  dataDir: string;
  raftAddress: string;
  httpPort: number;
  caPem: string;
  certPem: string;
  keyPem: string;
  bootstrap: Configuration;
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: raft-process.ts <config.json>');
const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as RaftProcessConfig;
const logger = pino({ level: process.env.RAFT_LOG ?? 'warn' }, pino.destination(2));
const stores = openFileStores(cfg.dataDir);
const transport = await TcpTransport.listen({
  listen: cfg.raftAddress,
  caPem: cfg.caPem,
  certPem: cfg.certPem,
  keyPem: cfg.keyPem,
  logger,
});
const fsm = new KvFsm();
const node = new RaftNode<KvResult>({
  config: defaultRaftConfig(cfg.id),
  fsm,
  ...stores,
  transport,
  logger,
  bootstrap: cfg.bootstrap,
});
node.subscribe((e) => {
  if (e.type === 'stopped' && e.error !== null) {
    logger.error({ err: e.error }, 'raft stopped');
    process.exit(1);
  }
});
node.start();

const reply = (res: http.ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
};

// Time from propose to apply on this leader, to tell raft's share of a client's latency.
const proposeMs: number[] = [];
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/put') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { key, value } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        key: string;
        value: string;
      };
      const started = performance.now();
      node.propose(encodeKv({ op: 'put', key, value })).then(
        (r) => {
          proposeMs.push(performance.now() - started);
          if (proposeMs.length > 10_000) proposeMs.splice(0, 5000);
          reply(res, 200, { index: r.index, prev: r.value });
        },
        (e: unknown) =>
          e instanceof NotLeaderError
            ? reply(res, 421, { leaderId: e.leaderId })
            : reply(res, 503, { error: (e as Error).message }),
      );
    });
    return;
  }
  if (req.url === '/stats') return reply(res, 200, node.stats());
  if (req.url === '/propose-latency/reset') {
    proposeMs.length = 0;
    return reply(res, 200, {});
  }
  if (req.url === '/propose-latency') {
    const sorted = [...proposeMs].sort((a, b) => a - b);
    const at = (q: number): number | null => sorted[Math.floor(q * sorted.length)] ?? null;
    return reply(res, 200, { count: sorted.length, p50: at(0.5), p99: at(0.99) });
  }
  if (req.url === '/dump') {
    return reply(res, 200, {
      appliedIndex: node.stats().appliedIndex,
      data: Object.fromEntries(fsm.data),
    });
  }
  reply(res, 404, { error: 'not found' });
});
server.keepAliveTimeout = 60_000;
server.listen(cfg.httpPort, '127.0.0.1');

const shutdown = (): void => {
  node.stop();
  server.close();
  void transport.close().then(() => {
    stores.close();
    process.exit(0);
  });
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
