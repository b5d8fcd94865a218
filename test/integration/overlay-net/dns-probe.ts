// Runs inside a container namespace: asks 127.0.0.11 the queries given as JSON in argv[2] and
// prints one JSON line of answers. Only the embedded resolver address is ever contacted.
import dgram from 'node:dgram';
import net from 'node:net';
import { RecordType, decodeMessage, encodeMessage } from '../../../src/overlay-net/dns/index.js';

interface Probe {
  name: string;
  type: keyof typeof RecordType;
  tcp?: boolean;
}

const TIMEOUT_MS = 3000;

function query(id: number, p: Probe): Buffer {
  return encodeMessage({
    id,
    flags: { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
    questions: [{ name: p.name, type: RecordType[p.type], class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

function askUdp(q: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => (s.close(), reject(new Error('timeout'))), TIMEOUT_MS);
    s.on('message', (m) => (clearTimeout(t), s.close(), resolve(m)));
    s.send(q, 53, '127.0.0.11');
  });
}

function askTcp(q: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(53, '127.0.0.11');
    const t = setTimeout(() => (s.destroy(), reject(new Error('timeout'))), TIMEOUT_MS);
    let buf = Buffer.alloc(0);
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      s.write(Buffer.concat([len, q]));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        s.destroy();
        resolve(buf.subarray(2));
      }
    });
    s.on('error', (e) => (clearTimeout(t), reject(e)));
  });
}

const probes = JSON.parse(process.argv[2] ?? '[]') as Probe[];
const out = [];
for (const [i, p] of probes.entries()) {
  try {
    const q = query(i + 1, p);
    const r = decodeMessage(p.tcp ? await askTcp(q) : await askUdp(q));
    out.push({ rcode: r.flags.rcode, answers: r.answers.map((a) => a.data) });
  } catch (e) {
    out.push({ error: String(e) });
  }
}
console.log(JSON.stringify(out));
